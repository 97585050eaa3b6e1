import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { parseConfig } from '../../src/config/load.js';
import { inventoryOnce } from '../../src/daemon/once.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import { VirtualClock } from '../watch/virtual-clock.js';

const account = '123456789012';
const region = 'us-east-1';
let dir: string;
let emulator: EcsEmulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-once-'));
  writeFileSync(join(dir, 'token'), 'once-token-0123456789\n');
  emulator = await startEcsEmulator({ account, region, throttling: { enabled: false } });
  emulator.fleet.createCluster({ name: 'prod', recordEvent: false });
  emulator.fleet.createCluster({ name: 'staging', recordEvent: false });
});

afterAll(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
});

describe('sightline once', () => {
  it('counts the time its calls waited for API budget in sightline_budget_wait_ms_total', async () => {
    const config = parseConfig(
      `tenant: { group: g1, issuer: "https://issuer.example.com" }
providers:
  ecs:
    account: "${account}"
    regions: [${region}]
    credentials: { source: static, accessKeyId: "\${KEY}", secretAccessKey: "\${SECRET}" }
    endpoints: { ecs: "${emulator.endpoint}", cloudtrail: "${emulator.endpoint}" }
budget: { fraction: 0.01 }
console: { address: "127.0.0.1:1", tls: { mode: plaintext }, tokenFile: "${join(dir, 'token')}" }
stateDir: "${join(dir, 'state')}"
`,
      join(dir, 'config.yaml'),
      { env: { KEY: 'AKIDONCE', SECRET: 'once-secret' } },
    );
    const clock = new VirtualClock();
    const registry = createRegistry(false);
    let done = false;
    const inventory = inventoryOnce(config, {
      logger: pino({ level: 'silent' }),
      registry,
      agentVersion: 'test',
      scheduler: clock.scheduler,
    }).finally(() => (done = true));
    // At 1 % of the documented limits every ECS bucket holds one token: the second call of a
    // bucket waits on the virtual clock, which runs on while the calls are in flight.
    while (!done) await clock.advance(1_000);
    const result = await inventory;
    expect(result.errors).toEqual([]);
    expect(result.objects.filter((o) => o.kind === 'cluster')).toHaveLength(2);
    const waited = (await registry.getSingleMetric('sightline_budget_wait_ms_total')?.get())?.values ?? [];
    expect(waited.reduce((sum, v) => sum + v.value, 0)).toBeGreaterThan(0);
  });
});
