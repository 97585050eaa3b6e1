import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Subscription } from 'rxjs';
import type { ClusterObject } from '../../src/model/index.js';
import type { WatchEvent } from '../../src/watch/events.js';
import { WatchEngine } from '../../src/watch/engine.js';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { EcsAdapter } from '../../adapters/ecs/index.js';
import { workloadKey } from '../../adapters/ecs/keys.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { ACCOUNT, REGION, WarpScheduler, ecsConfig, makeDeps } from './helpers.js';

let emu: EcsEmulator | undefined;
let adapter: EcsAdapter | undefined;
let engine: WatchEngine<ClusterObject> | undefined;
const subs: Subscription[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe();
  await engine?.stop();
  await adapter?.close();
  await emu?.stop();
  engine = undefined;
  adapter = undefined;
  emu = undefined;
});

const IMAGE_V1 = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/shop:1.0`;
const IMAGE_V2 = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/shop:2.0`;

describe('ECS services under the watch engine (family hints)', () => {
  it('UpdateService: the engine reads the service and its ReplicaSets, adds the new one, deletes the old one', async () => {
    const sched = new WarpScheduler(600);
    emu = await startEcsEmulator({ now: () => sched.now() });
    const f = emu.fleet;
    f.createCluster({ name: 'prod' });
    const td1 = f.registerTaskDefinition({ family: 'shop', containers: [{ name: 'shop', image: IMAGE_V1 }] });
    const created = f.createService({
      cluster: 'prod',
      name: 'shop',
      taskDefinition: td1.arn,
      desiredCount: 1,
    });
    const oldDeployment = created.deployments[0]?.id ?? '';
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), makeDeps({ scheduler: sched }));
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    engine = new WatchEngine(r.services, { scheduler: sched });
    const events: WatchEvent<ClusterObject>[] = [];
    subs.push(engine.events$.subscribe((e) => events.push(e)));
    engine.start();
    await vi.waitFor(() => expect(engine?.synced).toBe(true), { timeout: 5000, interval: 10 });
    const clusterArn = f.arn(REGION, 'cluster/prod');
    const oldKey = workloadKey(clusterArn, `${created.arn}#${oldDeployment}`);
    expect(engine.store.has(oldKey)).toBe(true);

    emu.calls.reset();
    const td2 = f.registerTaskDefinition({ family: 'shop', containers: [{ name: 'shop', image: IMAGE_V2 }] });
    const svc = f.updateService({ cluster: 'prod', service: 'shop', taskDefinition: td2.arn });
    const newKey = workloadKey(clusterArn, `${svc.arn}#${svc.deployments[0]?.id ?? ''}`);
    await vi.waitFor(
      () => {
        expect(engine?.store.has(newKey)).toBe(true);
        expect(engine?.store.has(oldKey)).toBe(false);
        expect(engine?.store.get(workloadKey(clusterArn, svc.arn))).toMatchObject({
          workload: { kind: 'Deployment', containers: [{ image: { tag: '2.0' } }] },
        });
      },
      { timeout: 5000, interval: 10 },
    );
    expect(events.some((e) => e.type === 'ADDED' && e.key === newKey)).toBe(true);
    expect(events.some((e) => e.type === 'DELETED' && e.key === oldKey)).toBe(true);
    // The service and its ReplicaSets are read in one DescribeServices per hinted round.
    expect(emu.calls.get('DescribeServices')).toBeGreaterThan(0);
  });
});
