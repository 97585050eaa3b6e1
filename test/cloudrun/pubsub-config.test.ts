/**
 * `providers.cloudRun.changeFeed` and `endpoints.pubsub` through the config loader (what
 * `sightline validate` runs): defaults, and a clear refusal of every value the feed could not run
 * with.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import type { CloudRunConfig } from '../../adapters/cloudrun/config.js';

const core = `tenant: { group: g1, issuer: "https://issuer.example.com" }
console: { address: "console.example.com:443", tokenFile: /nonexistent/token }
stateDir: /tmp/sightline-pubsub-config-test
`;

function load(cloudRun: string): { config?: CloudRunConfig; issues: string[] } {
  const text = `${core}providers:\n  cloudRun:\n    projects: [acme-prod-123]\n    regions: [us-central1]\n${cloudRun}`;
  try {
    const c = parseConfig(text, 'test.yaml', { env: {}, checkFiles: false });
    const section = (c.providers as Record<string, unknown>)['cloudRun'] as CloudRunConfig;
    return { config: section, issues: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { issues: err.issues.map((i) => `${i.path}: ${i.message}`) };
    throw err;
  }
}

describe('Cloud Run changeFeed config', () => {
  it('defaults to the tail', () => {
    expect(load('').config?.changeFeed).toEqual({ source: 'tail' });
  });

  it('takes a subscription, with the watchdog and flow-control defaults', () => {
    const r = load(
      '    changeFeed: { source: pubsub, subscription: projects/acme-ops-789/subscriptions/sightline-run }\n',
    );
    expect(r.issues).toEqual([]);
    expect(r.config?.changeFeed).toEqual({
      source: 'pubsub',
      subscription: 'projects/acme-ops-789/subscriptions/sightline-run',
      silenceMs: 60_000,
      maxOutstandingMessages: 1_000,
    });
  });

  it.each([
    ['sightline-run', 'providers.cloudRun.changeFeed.subscription: must be a full subscription name'],
    [
      'projects/acme-ops-789/topics/run',
      'providers.cloudRun.changeFeed.subscription: must be a full subscription name',
    ],
    [
      'projects/Bad_Project/subscriptions/run',
      'providers.cloudRun.changeFeed.subscription: must be a full subscription name',
    ],
  ])('refuses the subscription %s', (subscription, issue) => {
    const r = load(`    changeFeed: { source: pubsub, subscription: ${subscription} }\n`);
    expect(r.issues.join('\n')).toContain(issue);
  });

  it('refuses a missing subscription, an unknown source, and out-of-range knobs', () => {
    expect(load('    changeFeed: { source: pubsub }\n').issues.join('\n')).toMatch(
      /providers\.cloudRun\.changeFeed\.subscription/,
    );
    expect(load('    changeFeed: { source: sqs }\n').issues.join('\n')).toMatch(
      /providers\.cloudRun\.changeFeed\.source/,
    );
    const sub = 'subscription: projects/acme-ops-789/subscriptions/run';
    expect(load(`    changeFeed: { source: pubsub, ${sub}, silenceMs: 10 }\n`).issues.join('\n')).toContain(
      'silenceMs must be a whole number of milliseconds between 1000 and 3600000',
    );
    expect(
      load(`    changeFeed: { source: pubsub, ${sub}, maxOutstandingMessages: 0 }\n`).issues.join('\n'),
    ).toContain('providers.cloudRun.changeFeed.maxOutstandingMessages: must be at least 1');
    expect(load(`    changeFeed: { source: pubsub, ${sub}, extra: 1 }\n`).issues.join('\n')).toMatch(/extra/);
  });

  it('needs endpoints.pubsub against an emulator, and checks its form', () => {
    const emu = `    credentials: { source: none }\n    changeFeed: { source: pubsub, subscription: projects/acme-ops-789/subscriptions/run }\n`;
    expect(load(`${emu}    endpoints: { insecure: true }\n`).issues).toEqual([
      "providers.cloudRun.endpoints.pubsub: changeFeed.source pubsub with endpoints.insecure (an emulator) needs endpoints.pubsub: the emulator's Pub/Sub host:port",
    ]);
    expect(load(`${emu}    endpoints: { insecure: true, pubsub: '127.0.0.1:8085' }\n`).issues).toEqual([]);
    expect(load(`${emu}    endpoints: { insecure: true, pubsub: 'nowhere' }\n`).issues.join('\n')).toMatch(
      /providers\.cloudRun\.endpoints\.pubsub/,
    );
  });
});

describe('Cloud Run demo part in pushed mode', () => {
  it('starts the sink and gives a section that parses as pushed mode; refuses an unknown feed', async () => {
    const { startCloudRunDemo } = await import('../../adapters/cloudrun/demo.js');
    const { cloudRunSchema } = await import('../../adapters/cloudrun/config.js');
    const demo = await startCloudRunDemo('test', 'pubsub');
    try {
      const section = cloudRunSchema.parse(demo.configSection);
      expect(section.changeFeed).toMatchObject({ source: 'pubsub' });
      expect(demo.emulator.pubsub).toBeDefined();
    } finally {
      await demo.stop();
    }
    await expect(startCloudRunDemo('test', 'sqs')).rejects.toThrow(
      /SIGHTLINE_DEMO_CLOUDRUN_FEED must be pubsub or tail/,
    );
  });
});
