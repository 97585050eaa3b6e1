import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { providers } from '../../adapters/index.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { SECRET_PATHS } from '../../src/config/substitute.js';

const root = resolve(import.meta.dirname, '../..');
const committedSchema = JSON.parse(readFileSync(resolve(root, 'config/schema.json'), 'utf8')) as {
  properties: { providers: { properties: Record<string, unknown> } };
};

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml', { env: {}, checkFiles: false });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

const core = `tenant: { group: g1, issuer: "https://issuer.example.com" }
console: { address: "console.example.com:443", tokenFile: /nonexistent/token }
stateDir: /tmp/sightline-registrations-test
`;

describe('provider registrations', () => {
  it('give each provider one section of the config schema, under a distinct id, in list order', () => {
    const ids = providers.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(committedSchema.properties.providers.properties)).toEqual(ids);
    expect(issuesOf(`${core}providers: {}`)).toEqual([
      `providers: configure at least one provider (${ids.join(' or ')})`,
    ]);
  });

  it('name an IAM document that exists and documented limits that are positive', () => {
    for (const p of providers) {
      expect(existsSync(resolve(root, p.iamDoc)), p.iamDoc).toBe(true);
      expect(Object.keys(p.limits).length).toBeGreaterThan(0);
      for (const limit of Object.values(p.limits)) {
        expect(limit.burst).toBeGreaterThan(0);
        expect(limit.refillPerSecond).toBeGreaterThan(0);
      }
    }
  });

  it('make every secret path of every provider a config path whose value must be a reference', () => {
    const expected = providers.flatMap((p) => p.secretPaths.map((path) => ['providers', p.id, ...path]));
    expect(SECRET_PATHS).toEqual(expected);
    const issues = issuesOf(`${core}providers:
  ecs:
    account: "123456789012"
    regions: [us-east-1]
    credentials: { source: static, accessKeyId: inline-key, secretAccessKey: inline-secret }
`);
    expect(issues).toEqual([
      'providers.ecs.credentials.accessKeyId: secrets must be given by reference (${ENV_VAR}), not inline in the config file',
      'providers.ecs.credentials.secretAccessKey: secrets must be given by reference (${ENV_VAR}), not inline in the config file',
    ]);
  });

  it('fill the defaults they register', () => {
    const config = parseConfig(
      `${core}providers:
  cloudRun: { projects: [acme-prod-1], regions: all }
  ecs: { account: "123456789012", regions: [us-east-1] }
`,
      'test.yaml',
      { env: {}, checkFiles: false },
    );
    const [cloudRun, ecs] = providers;
    expect(config.providers.cloudRun).toMatchObject(cloudRun.defaults);
    expect(config.providers.ecs?.taskPollIntervalMs).toBe(ecs.defaults.taskPollIntervalMs);
    expect(config.providers.ecs?.cloudTrail).toMatchObject({
      pollIntervalMs: ecs.defaults.cloudTrailPollIntervalMs,
      overlapMs: ecs.defaults.cloudTrailOverlapMs,
      maxRequestsPerSecond: ecs.defaults.cloudTrailMaxRequestsPerSecond,
    });
  });
});
