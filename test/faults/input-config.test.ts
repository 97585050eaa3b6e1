/**
 * Configs that `run` used to crash on, spin on or hang on, each refused by the one loader that
 * `validate`, `run` and `once` share: one line per problem naming the field path, and exit 2 from
 * the spawned CLI (for the file-read cases, and for `run` itself). Nothing here quotes more than a
 * short excerpt of a file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import type { ConfigIssue } from '../../src/config/errors.js';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let token: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sl-input-'));
  token = join(dir, 'token');
  writeFileSync(token, 'a-good-token-123\n');
  writeFileSync(join(dir, 'empty-token'), '\n');
  writeFileSync(join(dir, 'zw-token'), 'tok-HEAD\u200bTAIL-SECRET\n');
  writeFileSync(join(dir, 'a-file'), 'not a directory\n');
  mkdirSync(join(dir, 'fifo-dir'));
  spawnSync('mkfifo', [join(dir, 'fifo-dir', 'config.yaml')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = { AK: 'AKIDEXAMPLE', SK: 'secret-from-env' };

interface Parts {
  tenant?: string;
  providers?: string;
  console?: string;
  stateDir?: string;
  extra?: string;
}

function configText(p: Parts = {}): string {
  return [
    p.tenant ?? 'tenant: { group: g1, issuer: "https://issuer.example.com" }',
    p.providers ?? 'providers:\n  ecs: { account: "123456789012", regions: [us-east-1] }',
    p.console ?? `console: { address: "console.example.com:443", tokenFile: "${token}" }`,
    p.stateDir ?? `stateDir: "${join(dir, 'state')}"`,
    p.extra ?? '',
  ].join('\n');
}

let n = 0;
function writeConfig(text: string): string {
  const file = join(dir, `config-${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function issuesOf(file: string): ConfigIssue[] {
  try {
    loadConfigFile(file, { env: ENV });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

/** A spawned CLI compiles its TypeScript on start: allow for a loaded machine. */
const SPAWN_TIMEOUT_MS = 60_000;

function sightline(args: string[], timeoutMs = SPAWN_TIMEOUT_MS) {
  const r = spawnSync(process.execPath, [resolve(root, 'bin/sightline.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, ...ENV },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const ecsWith = (extra: string) =>
  `providers:\n  ecs: { account: "123456789012", regions: [us-east-1], ${extra} }`;
const cloudRunWith = (extra: string) =>
  `providers:\n  cloudRun: { projects: [acme-prod-1], regions: [us-central1], ${extra} }`;

const cases: Array<[string, () => string, string, string]> = [
  [
    'a console port above 65535',
    () => configText({ console: `console: { address: "c.example.com:70000", tokenFile: "${token}" }` }),
    'console.address',
    'the port must be between 1 and 65535',
  ],
  [
    'an http.listen port above 65535',
    () => configText({ extra: 'http: { listen: "0.0.0.0:99999" }' }),
    'http.listen',
    'the port must be between 0 and 65535',
  ],
  [
    'a stateDir that is an existing file',
    () => configText({ stateDir: `stateDir: "${join(dir, 'a-file')}"` }),
    'stateDir',
    'exists and is not a directory',
  ],
  [
    'a stateDir below a file',
    () => configText({ stateDir: `stateDir: "${join(dir, 'a-file', 'state')}"` }),
    'stateDir',
    'is not a directory',
  ],
  [
    'an empty token file',
    () =>
      configText({
        console: `console: { address: "c.example.com:443", tokenFile: "${join(dir, 'empty-token')}" }`,
      }),
    'console.tokenFile',
    'is empty',
  ],
  [
    'a token with a zero-width space',
    () =>
      configText({
        console: `console: { address: "c.example.com:443", tokenFile: "${join(dir, 'zw-token')}" }`,
      }),
    'console.tokenFile',
    'an invisible non-ASCII character (e.g. a zero-width space from a copy-paste) at character 9',
  ],
  [
    'a token file that is a device',
    () => configText({ console: 'console: { address: "c.example.com:443", tokenFile: /dev/zero }' }),
    'console.tokenFile',
    'is a character device, expected a regular file',
  ],
  [
    'Cloud Run credentials none without insecure',
    () => configText({ providers: cloudRunWith('credentials: { source: none }') }),
    'providers.cloudRun.credentials.source',
    'set endpoints.insecure: true',
  ],
  [
    'a resync period of 2^31 ms',
    () => configText({ extra: 'intervals: { resyncPeriodMs: 2147483648 }' }),
    'intervals.resyncPeriodMs',
    'must be a whole number of milliseconds between 60000 and 604800000',
  ],
  [
    'a negative poll interval',
    () => configText({ extra: 'intervals: { clusterPollIntervalMs: -5 }' }),
    'intervals.clusterPollIntervalMs',
    'must be a whole number of milliseconds between 100 and 3600000',
  ],
  [
    'an infinite watchdog',
    () => configText({ extra: 'intervals: { watchdogTimeoutMs: .inf }' }),
    'intervals.watchdogTimeoutMs',
    'between 1000 and 86400000',
  ],
  [
    'an unbounded RPC deadline',
    () =>
      configText({
        console: `console: { address: "c.example.com:443", tokenFile: "${token}", rpcDeadlineMs: 1e12 }`,
      }),
    'console.rpcDeadlineMs',
    'between 100 and 300000',
  ],
  [
    'a CloudTrail poll of 30 days',
    () => configText({ providers: ecsWith('cloudTrail: { pollIntervalMs: 2592000000 }') }),
    'providers.ecs.cloudTrail.pollIntervalMs',
    'between 100 and 3600000',
  ],
  [
    'a YAML alias bomb',
    () =>
      [
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
        'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
        'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
        'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
        'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      ].join('\n'),
    '',
    'YAML: more than 100 alias expansions',
  ],
  [
    'a secret supplied by a :- default',
    () =>
      configText({
        providers: ecsWith(
          'credentials: { source: static, accessKeyId: "${AK}", secretAccessKey: "${UNSET_SECRET:-inline-secret}" }',
        ),
      }),
    'providers.ecs.credentials.secretAccessKey',
    'a secret cannot have a default',
  ],
  [
    'a secret with inline text around the reference',
    () =>
      configText({
        providers: ecsWith(
          'credentials: { source: static, accessKeyId: "${AK}", secretAccessKey: "inline-${AK}" }',
        ),
      }),
    'providers.ecs.credentials.secretAccessKey',
    'exactly one reference',
  ],
];

describe('configs that run would fail on are refused by the shared loader', () => {
  it.each(cases)('%s → %s', (_name, text, path, message) => {
    const issues = issuesOf(writeConfig(text()));
    const hit = issues.find((i) => i.path === path && i.message.includes(message));
    expect(hit, JSON.stringify(issues)).toBeDefined();
    const all = JSON.stringify(issues);
    expect(all).not.toContain('inline-secret');
    expect(all).not.toContain('TAIL-SECRET');
  });

  it('substitutes ${VAR} inside a flow mapping', () => {
    const file = writeConfig(
      configText({
        providers: ecsWith('credentials: { source: static, accessKeyId: ${AK}, secretAccessKey: ${SK} }'),
        extra: 'log: { level: ${LEVEL:-debug} }',
      }),
    );
    const c = loadConfigFile(file, { env: ENV });
    expect(c.providers.ecs?.credentials).toEqual({
      source: 'static',
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret-from-env',
    });
    expect(c.log.level).toBe('debug');
  });

  it('names unknown keys briefly, however many and however long', () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}${'x'.repeat(900)}: 1`).join('\n');
    const issues = issuesOf(writeConfig(`${configText()}\n${keys}`));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/^unknown keys: k0x+…, .* and 40 more$/);
    expect(issues[0]?.message.length).toBeLessThan(1_000);
  });

  it('keeps a YAML error short even when the offending line is huge', () => {
    const issues = issuesOf(writeConfig(`tenant: {group: [${'x'.repeat(500_000)}`));
    expect(issues.length).toBeGreaterThan(0);
    for (const i of issues) expect(i.message.length).toBeLessThanOrEqual(210);
  });
});

describe('sightline validate / run on unreadable inputs (spawned)', { timeout: 3 * SPAWN_TIMEOUT_MS }, () => {
  function expectOneLineRefusal(args: string[], fragment: string): void {
    const started = Date.now();
    const r = sightline(args);
    expect(r.signal, 'the command did not finish').toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(fragment);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stderr.length).toBeLessThan(1_000);
    expect(Date.now() - started).toBeLessThan(SPAWN_TIMEOUT_MS);
  }

  it('refuses /dev/zero at once instead of reading it', () => {
    expectOneLineRefusal(['validate', '--config', '/dev/zero'], 'config file is a character device');
  });

  it('refuses a FIFO instead of hanging on it', () => {
    expectOneLineRefusal(
      ['validate', '--config', join(dir, 'fifo-dir', 'config.yaml')],
      'config file is a FIFO (named pipe), expected a regular file',
    );
  });

  it('refuses a 50 MB binary file with one short line', () => {
    const file = join(dir, 'binary.yaml');
    const big = Buffer.alloc(50 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i * 7) & 0xff;
    writeFileSync(file, big);
    expectOneLineRefusal(['validate', '--config', file], 'larger than the 1 MiB limit');
  });

  it('refuses a small binary file without echoing it', () => {
    const file = join(dir, 'small-binary.yaml');
    writeFileSync(file, Buffer.from([0x74, 0x3a, 0x20, 0x00, 0xff, 0xfe, 0x41]));
    expectOneLineRefusal(['validate', '--config', file], 'config file is not a text file');
  });

  it('refuses an alias bomb with exit 2', () => {
    const file = writeConfig(
      [
        'a: &a [x,x,x,x,x,x,x,x,x,x]',
        'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
        'c: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      ].join('\n'),
    );
    expectOneLineRefusal(['validate', '--config', file], 'alias expansions');
  });

  it('run refuses the same config validate refuses, with the same line and nothing started', () => {
    const file = writeConfig(configText({ extra: 'http: { listen: "127.0.0.1:99999" }' }));
    const v = sightline(['validate', '--config', file]);
    const r = sightline(['run', '--config', file]);
    expect(v.code).toBe(2);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(v.stderr);
    expect(r.stderr).toContain('http.listen: the port must be between 0 and 65535');
  });
});
