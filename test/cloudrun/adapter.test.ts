import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { asyncScheduler } from 'rxjs';
import { createCloudRunAdapter } from '../../adapters/cloudrun/index.js';
import { ApiBudget } from '../../src/watch/budget.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { MemoryCache } from '../../src/provider/cache.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import type { Harness } from './harness.js';
import { collectHints, configFor, sourceFor, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const deps = (): ProviderDeps => ({
  logger: pino({ level: 'silent' }),
  metrics: new CoreMetrics(new Registry()),
  budget: new ApiBudget({}),
  scheduler: asyncScheduler,
  cache: new MemoryCache(),
  tenant: { group: 'g', issuer: 'https://i.example' },
  agentVersion: 'v',
  clusterPollIntervalMs: 1_000,
});

describe('createCloudRunAdapter', () => {
  it('rejects credentials "none" against a TLS endpoint with a clear configuration error', async () => {
    h = await startHarness();
    const config = configFor(h.emu, ['proj-x'], ['us-central1']);
    const adapter = createCloudRunAdapter(
      { ...config, endpoints: { ...config.endpoints, insecure: false } },
      deps(),
    );
    await expect(adapter.sources()).rejects.toThrow(/endpoints.insecure/);
    await adapter.close();
  });

  it('gives one source per kind and project without calling any API; kinds share a tail; close() ends it', async () => {
    h = await startHarness({ projects: ['proj-a', 'proj-b'] });
    const sources = await h.adapter.sources();
    expect(sources.map((s) => s.id)).toEqual(
      ['proj-a', 'proj-b'].flatMap((p) =>
        ['clusters', 'services', 'jobs', 'workerpools'].map((k) => `cloudrun/${p}/${k}`),
      ),
    );
    expect(h.emu.calls.count()).toBe(0);
    const log = collectHints(await sourceFor(h, 'proj-a', 'services'));
    await log.ready();
    expect(h.emu.openTails()).toBe(1);
    const jobs = collectHints(await sourceFor(h, 'proj-a', 'jobs'));
    await jobs.ready();
    expect(h.emu.openTails()).toBe(1);
    let completed = false;
    log.sub.add(() => (completed = true));
    await h.adapter.close();
    await h.adapter.close(); // idempotent
    await expect.poll(() => h?.emu.openTails()).toBe(0);
    expect(completed).toBe(true);
  });
});
