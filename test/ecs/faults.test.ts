import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Subscription } from 'rxjs';
import { objectKey } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import { isThrottling } from '../../src/watch/source.js';
import type { Hint, WatchSource } from '../../src/watch/source.js';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { EcsAdapter } from '../../adapters/ecs/index.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { WarpScheduler, apiCalls, ecsConfig, listAll, makeDeps } from './helpers.js';

let emu: EcsEmulator | undefined;
let adapter: EcsAdapter | undefined;
const subs: Subscription[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe();
  await adapter?.close();
  await emu?.stop();
  adapter = undefined;
  emu = undefined;
});

/** What the engine does: on throttling, back off and retry the same page (no relist). */
async function listWithRetry(
  source: WatchSource<ClusterObject>,
): Promise<{ items: ClusterObject[]; throttled: number }> {
  const items: ClusterObject[] = [];
  let token: string | undefined;
  let throttled = 0;
  for (;;) {
    try {
      const page = await source.list(token);
      items.push(...page.items);
      token = page.nextPageToken;
      if (token === undefined) return { items, throttled };
    } catch (err) {
      if (!isThrottling(err)) throw err;
      throttled++;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('ECS under faults', () => {
  it('survives a throttling storm: no crash, no loss, converges to the full fleet; hints resume after it', async () => {
    const sched = new WarpScheduler(600);
    emu = await startEcsEmulator({ now: () => sched.now() });
    emu.fleet.generate({
      clusters: 3,
      servicesPerCluster: 6,
      tasksPerService: 5,
      taskDefinitions: 6,
      containerInstancesPerCluster: 2,
    });
    const deps = makeDeps({ scheduler: sched });
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps, { maxAttempts: 2 });
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    const hints: Hint<ClusterObject>[] = [];
    const errors: unknown[] = [];
    subs.push(
      r.tasks
        .hints(undefined)
        .subscribe({ next: (h) => hints.push(h), error: (e: unknown) => errors.push(e) }),
    );

    emu.faults.throttleStorm(15 * 60_000); // 15 virtual minutes (1.5 s) of ThrottlingException on every action
    const [td] = emu.fleet.allTaskDefinitions();
    const [run] = emu.fleet.runTask({ cluster: 'cluster-0', taskDefinition: td?.arn ?? '' });
    const results = await Promise.all([
      listWithRetry(r.clusters),
      listWithRetry(r.services),
      listWithRetry(r.tasks),
      listWithRetry(r.nodes),
    ]);
    const [clusters, services, tasks, nodes] = results;
    expect(emu.calls.throttled()).toBeGreaterThan(0); // the storm was felt (absorbed by retries or surfaced)
    expect(clusters?.items.filter((o) => o.kind === 'cluster')).toHaveLength(3);
    expect(
      services?.items.filter((o) => o.kind === 'workload' && o.workload.kind === 'Deployment'),
    ).toHaveLength(18);
    expect(new Set(tasks?.items.map(objectKey)).size).toBe(3 * 6 * 5 + 1);
    expect(nodes?.items).toHaveLength(6);
    await vi.waitFor(
      () => expect(hints.some((h) => h.type === 'changed' && h.key.endsWith(run?.arn ?? '-'))).toBe(true),
      {
        timeout: 10_000,
        interval: 20,
      },
    );
    expect(errors).toEqual([]);
    expect(await apiCalls(deps, { outcome: 'throttled' })).toBeGreaterThan(0);
  });

  it('retries 5xx and slow responses inside the SDK; an expired token is a clear, non-throttling error', async () => {
    emu = await startEcsEmulator();
    emu.fleet.createCluster({ name: 'a' });
    const deps = makeDeps();
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps);
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    emu.faults.serverErrors(1, ['DescribeClusters']);
    emu.faults.slowResponses(150, 1, ['ListClusters']);
    const { items } = await listAll(r.clusters);
    expect(items).toHaveLength(2);
    expect(await apiCalls(deps, { operation: 'DescribeClusters', outcome: 'retried' })).toBe(1);

    emu.faults.expireCredentials();
    const err = await r.clusters.list(undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('ExpiredTokenException');
    expect(isThrottling(err)).toBe(false);
    expect((err as Error).message).not.toContain('test-secret-key');
    emu.faults.restoreCredentials();
    expect((await listAll(r.clusters)).items).toHaveLength(2);
  });

  it('a call still throttled after the retries surfaces as ThrottledError (engine backs off, no relist)', async () => {
    const sched = new WarpScheduler(600);
    emu = await startEcsEmulator({ now: () => sched.now() });
    emu.fleet.createCluster({ name: 'a' });
    const deps = makeDeps({ scheduler: sched });
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps, { maxAttempts: 1 });
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    emu.faults.throttleStorm(60 * 60_000, ['ListClusters']);
    const err = await r.clusters.list(undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isThrottling(err)).toBe(true);
    expect(emu.calls.get('ListClusters')).toBe(4); // first try + 3 retries, each after taking budget again
    expect(await apiCalls(deps, { operation: 'ListClusters', outcome: 'throttled' })).toBe(4);
  });
});
