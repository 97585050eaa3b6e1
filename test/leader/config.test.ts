import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

let dir: string;
let token: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-le-config-'));
  token = join(dir, 'token');
  writeFileSync(token, 'secret-token-value\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(leaderElection: string): string {
  return [
    'tenant: { group: g1, issuer: "https://issuer.example.com" }',
    'providers:\n  ecs: { account: "123456789012", regions: [us-east-1] }',
    `console: { address: "console.example.com:443", tokenFile: "${token}" }`,
    `stateDir: "${join(dir, 'state')}"`,
    leaderElection,
  ].join('\n');
}

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): Array<{ path: string; message: string }> {
  try {
    parseConfig(text, join(dir, 'test.yaml'), { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('leaderElection config', () => {
  it('is off by default, with client-go timings', () => {
    const c = parseConfig(config(''), 'test.yaml', { env: {} });
    expect(c.leaderElection).toEqual({
      enabled: false,
      leaseName: 'sightline',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
  });

  it('takes the namespace from the environment (downward API) and resolves a kubeconfig next to the file', () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
    const c = parseConfig(
      config(
        'leaderElection: { enabled: true, leaseName: sightline-acme, namespace: "${POD_NAMESPACE}", kubeconfig: kubeconfig }',
      ),
      join(dir, 'test.yaml'),
      { env: { POD_NAMESPACE: 'sightline' } },
    );
    expect(c.leaderElection).toMatchObject({
      enabled: true,
      leaseName: 'sightline-acme',
      namespace: 'sightline',
      kubeconfig,
    });
  });

  it.each([
    [
      'enabled without a namespace',
      'leaderElection: { enabled: true }',
      'leaderElection.namespace',
      /namespace is required/,
    ],
    [
      'renew deadline not below the lease duration',
      'leaderElection: { leaseDurationMs: 10000, renewDeadlineMs: 10000 }',
      'leaderElection.renewDeadlineMs',
      /less than leaseDurationMs/,
    ],
    [
      'retry period not below the renew deadline',
      'leaderElection: { renewDeadlineMs: 3000, retryPeriodMs: 3000 }',
      'leaderElection.retryPeriodMs',
      /less than renewDeadlineMs/,
    ],
    [
      'a lease duration under a second',
      'leaderElection: { leaseDurationMs: 500, renewDeadlineMs: 400, retryPeriodMs: 100 }',
      'leaderElection.leaseDurationMs',
      /1000/,
    ],
    [
      'a bad lease name',
      'leaderElection: { leaseName: "Sightline_Acme" }',
      'leaderElection.leaseName',
      /Kubernetes object name/,
    ],
    [
      'a bad namespace',
      'leaderElection: { enabled: true, namespace: "Prod NS" }',
      'leaderElection.namespace',
      /namespace name/,
    ],
    [
      'an unknown key',
      'leaderElection: { enabled: true, namespace: ns, identity: x }',
      'leaderElection',
      /identity/,
    ],
    [
      'an unreadable kubeconfig',
      'leaderElection: { enabled: true, namespace: ns, kubeconfig: /nonexistent/kubeconfig }',
      'leaderElection.kubeconfig',
      /cannot read/,
    ],
  ])('refuses %s, naming the field', (_what, block, path, message) => {
    const issues = issuesOf(config(block));
    expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});
