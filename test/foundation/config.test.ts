import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig, loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

let dir: string;
let token: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-config-'));
  token = join(dir, 'token');
  writeFileSync(token, 'secret-token-value\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function base(over: Record<string, string> = {}): string {
  const parts: Record<string, string> = {
    tenant: 'tenant: { group: g1, issuer: "https://issuer.example.com" }',
    providers: 'providers:\n  ecs: { account: "123456789012", regions: [us-east-1] }',
    console: `console: { address: "console.example.com:443", tokenFile: "${token}" }`,
    stateDir: `stateDir: "${join(dir, 'state')}"`,
    ...over,
  };
  return Object.values(parts)
    .filter((v) => v !== '')
    .join('\n');
}

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): Array<{ path: string; message: string }> {
  try {
    parseConfig(text, 'test.yaml', { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('config validation', () => {
  it('accepts a minimal config and fills the documented defaults', () => {
    const c = parseConfig(base(), 'test.yaml', { env: {} });
    expect(c.intervals.resyncPeriodMs).toBe(36_000_000);
    expect(c.budget.fraction).toBe(0.25);
    expect(c.providers.ecs?.cloudTrail.maxRequestsPerSecond).toBe(1);
    expect(c.providers.ecs?.cloudTrail.overlapMs).toBe(20 * 60 * 1000);
    expect(c.console.tls).toEqual({ mode: 'tls' });
    expect(c.http.listen).toBe('0.0.0.0:9090');
  });

  it.each([
    ['missing field', { tenant: '' }, 'tenant', 'expected object'],
    ['missing nested field', { console: `console: { tokenFile: "${'/x'}" }` }, 'console.address', ''],
    [
      'wrong type',
      { providers: 'providers:\n  ecs: { account: 123456789012, regions: [us-east-1] }' },
      'providers.ecs.account',
      'string',
    ],
    ['unknown key', { stateDir: `stateDir: "${'/tmp/x'}"\nsurprise: 1` }, '', 'unknown key: surprise'],
    [
      'unknown nested key',
      { providers: 'providers:\n  ecs: { account: "123456789012", regions: [us-east-1], regoins: [x] }' },
      'providers.ecs',
      'unknown key: regoins',
    ],
    [
      'bad AWS region',
      { providers: 'providers:\n  ecs: { account: "123456789012", regions: [us-east-1, useast1] }' },
      'providers.ecs.regions[1]',
      'not an AWS region',
    ],
    [
      'bad GCP region',
      { providers: 'providers:\n  cloudRun: { projects: [acme-prod-1], regions: [US-Central] }' },
      'providers.cloudRun.regions[0]',
      'not a GCP region',
    ],
    ['bad URL', { tenant: 'tenant: { group: g, issuer: "ftp//nope" }' }, 'tenant.issuer', 'http'],
    [
      'bad endpoint URL',
      {
        providers:
          'providers:\n  ecs: { account: "123456789012", regions: [us-east-1], endpoints: { ecs: "localhost" } }',
      },
      'providers.ecs.endpoints.ecs',
      'URL',
    ],
    [
      'bad console address',
      { console: `console: { address: "https://console", tokenFile: "${'/x'}" }` },
      'console.address',
      'host:port',
    ],
    ['no provider', { providers: 'providers: {}' }, 'providers', 'at least one provider'],
    [
      'CloudTrail above the account limit',
      {
        providers:
          'providers:\n  ecs: { account: "123456789012", regions: [us-east-1], cloudTrail: { maxRequestsPerSecond: 3 } }',
      },
      'providers.ecs.cloudTrail.maxRequestsPerSecond',
      '2 requests per second',
    ],
    [
      'bad role ARN',
      {
        providers:
          'providers:\n  ecs: { account: "123456789012", regions: [us-east-1], credentials: { source: assumeRole, roleArn: "role/x", externalId: abc } }',
      },
      'providers.ecs.credentials.roleArn',
      'IAM role ARN',
    ],
    [
      'negative interval',
      { stateDir: `stateDir: "/tmp/x"\nintervals: { resyncPeriodMs: -5 }` },
      'intervals.resyncPeriodMs',
      '',
    ],
    ['bad log level', { stateDir: `stateDir: "/tmp/x"\nlog: { level: loud }` }, 'log.level', ''],
  ])('%s is rejected naming %s', (_name, over, path, fragment) => {
    const issues = issuesOf(base(over));
    const hit = issues.find((i) => i.path === path);
    expect(hit, JSON.stringify(issues)).toBeDefined();
    expect(hit?.message).toContain(fragment);
  });

  it('rejects an unreadable token file naming the field', () => {
    const issues = issuesOf(
      base({ console: `console: { address: "c.example.com:443", tokenFile: "${join(dir, 'missing')}" }` }),
    );
    expect(issues).toEqual([{ path: 'console.tokenFile', message: expect.stringContaining('ENOENT') }]);
  });

  it('rejects a token file that is a directory', () => {
    const issues = issuesOf(
      base({ console: `console: { address: "c.example.com:443", tokenFile: "${dir}" }` }),
    );
    expect(issues[0]).toMatchObject({
      path: 'console.tokenFile',
      message: expect.stringContaining('directory'),
    });
  });

  it('reports YAML syntax errors', () => {
    const issues = issuesOf('tenant: {group: [}');
    expect(issues[0]?.message).toMatch(/^YAML:/);
  });

  it('substitutes ${VAR} from the environment and names the field of an unset one', () => {
    const text = base({
      providers:
        'providers:\n  ecs: { account: "123456789012", regions: [us-east-1], credentials: { source: static, accessKeyId: "${AK}", secretAccessKey: "${SK}" } }',
    });
    const c = parseConfig(text, 't.yaml', { env: { AK: 'AKIDEXAMPLE', SK: 'shh' } });
    expect(c.providers.ecs?.credentials).toMatchObject({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'shh',
    });
    const issues = issuesOf(text, { AK: 'AKIDEXAMPLE' });
    expect(issues).toEqual([
      { path: 'providers.ecs.credentials.secretAccessKey', message: 'environment variable SK is not set' },
    ]);
  });

  it('refuses secrets written inline, without echoing them', () => {
    const text = base({
      providers:
        'providers:\n  ecs: { account: "123456789012", regions: [us-east-1], credentials: { source: static, accessKeyId: "${AK}", secretAccessKey: "hunter2-inline" } }',
    });
    const issues = issuesOf(text, { AK: 'x' });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('providers.ecs.credentials.secretAccessKey');
    expect(issues[0]?.message).toContain('by reference');
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('does not let a substituted value inject YAML structure', () => {
    const c = parseConfig(
      base({ tenant: 'tenant: { group: "${G}", issuer: "https://issuer.example.com" }' }),
      't.yaml',
      {
        env: { G: 'x\nstateDir: /etc' },
      },
    );
    expect(c.tenant.group).toBe('x\nstateDir: /etc');
    expect(c.stateDir).toBe(join(dir, 'state'));
  });

  it('resolves relative paths against the config file folder', () => {
    const f = join(dir, 'rel.yaml');
    writeFileSync(
      f,
      base({
        console: 'console: { address: "c.example.com:443", tokenFile: "./token" }',
        stateDir: 'stateDir: ./state',
      }),
    );
    const c = loadConfigFile(f, { env: {} });
    expect(c.console.tokenFile).toBe(token);
    expect(c.stateDir).toBe(join(dir, 'state'));
  });

  it('names a missing config file', () => {
    expect(() => loadConfigFile(join(dir, 'nope.yaml'))).toThrow(/cannot read config file \(ENOENT\)/);
  });

  it('accepts every shipped example', () => {
    const examples = resolve(import.meta.dirname, '../../config/examples');
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(['aws.yaml', 'demo.yaml', 'gcp.yaml', 'lambda.yaml']);
    for (const f of files)
      expect(() =>
        loadConfigFile(join(examples, f), {
          env: { SIGHTLINE_DEMO_AWS_KEY: 'k', SIGHTLINE_DEMO_AWS_SECRET: 's' },
        }),
      ).not.toThrow();
  });
});
