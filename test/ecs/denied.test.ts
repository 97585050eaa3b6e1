/**
 * Issue #12 on ECS, through the real SDK against the emulator: an IAM policy without
 * ecs:ListContainerInstances denies the node source only (named with that permission, its
 * gauge at 1); clusters, services and tasks list and sync normally. Once the policy allows it, the
 * nodes appear at the next denied retry. The engines run on a virtual clock (deniedRetryMs is
 * virtual), the adapter on real time against loopback; nothing sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { EcsAdapter } from '../../adapters/ecs/index.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import { createWatch } from '../../src/watch/index.js';
import type { Watch } from '../../src/watch/index.js';
import { metricValue, until } from '../console/helpers.js';
import { VirtualClock } from '../watch/virtual-clock.js';
import { ACCOUNT, REGION, ecsConfig, makeDeps } from './helpers.js';

const RETRY_MS = 120_000;
const PERMISSION = 'ecs:ListContainerInstances';

let emu: EcsEmulator | undefined;
let adapter: EcsAdapter | undefined;
const watches: Watch<ClusterObject>[] = [];

afterEach(async () => {
  await Promise.all(watches.splice(0).map((w) => w.stop()));
  await adapter?.close();
  await emu?.stop();
  adapter = undefined;
  emu = undefined;
});

describe('ECS with ecs:ListContainerInstances denied', () => {
  it('denies the node source only, and lists the nodes at the next retry once allowed', async () => {
    emu = await startEcsEmulator({ account: ACCOUNT, region: REGION, throttling: { enabled: false } });
    const f = emu.fleet;
    f.createCluster({ name: 'prod' });
    f.registerContainerInstance({ cluster: 'prod' });
    f.registerContainerInstance({ cluster: 'prod' });
    const td = f.registerTaskDefinition({
      family: 'shop',
      containers: [{ name: 'shop', image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/shop:1.0` }],
    });
    f.createService({ cluster: 'prod', name: 'shop', taskDefinition: td.arn, desiredCount: 2 });
    emu.faults.denyActions(['ListContainerInstances']);

    const deps = makeDeps();
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps);
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    const clock = new VirtualClock();
    const watchOf = new Map<string, Watch<ClusterObject>>();
    for (const s of [r.clusters, r.services, r.tasks, r.nodes]) {
      const w = createWatch<ClusterObject>(s, {
        scheduler: clock.scheduler,
        random: () => 0,
        deniedRetryMs: RETRY_MS,
        metrics: deps.metrics,
        logger: pino({ level: 'silent' }),
      });
      watches.push(w);
      watchOf.set(s.id, w);
      w.start();
    }
    const nodes = watchOf.get(r.nodes.id);
    if (!nodes) throw new Error('no node watch');
    await until(
      () => watches.every((w) => w.synced || w.denied !== undefined),
      10_000,
      'every source synced or denied',
    );

    expect(nodes.denied).toBe(PERMISSION);
    expect(nodes.synced).toBe(false);
    expect(nodes.store.size).toBe(0);
    for (const s of [r.clusters, r.services, r.tasks]) {
      expect(watchOf.get(s.id)?.synced, s.id).toBe(true);
      expect(watchOf.get(s.id)?.denied, s.id).toBeUndefined();
    }
    const kinds = (w: Watch<ClusterObject> | undefined) =>
      [...(w?.store.values() ?? [])].map((o) => (o.kind === 'workload' ? o.workload.nativeKind : o.kind));
    expect(kinds(watchOf.get(r.clusters.id))).toContain('cluster');
    expect(kinds(watchOf.get(r.tasks.id)).filter((k) => k === 'ecs.amazonaws.com/Task')).toHaveLength(2);
    const gauge = () =>
      metricValue(deps.metrics, 'sightline_source_permission_denied', {
        source: r.nodes.id,
        permission: PERMISSION,
      });
    expect(await gauge()).toBe(1);

    emu.faults.allowActions();
    const attempts = emu.calls.get('ListContainerInstances');
    await clock.advance(RETRY_MS - 1);
    expect(emu.calls.get('ListContainerInstances')).toBe(attempts); // no short-backoff retries
    expect(nodes.denied).toBe(PERMISSION);
    await clock.advance(1);
    await until(() => nodes.synced, 10_000, 'the node source listed');
    expect(nodes.denied).toBeUndefined();
    expect(kinds(nodes)).toEqual(['node', 'node']);
    expect(await gauge()).toBe(0);
  });
});
