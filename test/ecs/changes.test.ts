import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Subscription } from 'rxjs';
import { clusterId, objectKey } from '../../src/model/index.js';
import type { AgentActivity, ClusterObject } from '../../src/model/index.js';
import type { Hint, WatchSource } from '../../src/watch/source.js';
import { keyOfNamed } from '../../src/watch/source.js';
import { MapWatchStore } from '../../src/watch/store.js';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import { workloadKey } from '../../adapters/ecs/keys.js';
import type { EcsAdapter, EcsRegionSources } from '../../adapters/ecs/index.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { ACCOUNT, REGION, WarpScheduler, apiCalls, ecsConfig, listAll, makeDeps } from './helpers.js';
import type { TestDeps } from './helpers.js';

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

interface Harness {
  emu: EcsEmulator;
  r: EcsRegionSources;
  deps: TestDeps;
  sched: WarpScheduler;
  /** Keys known to our little "store" per source (what the engine would hold). */
  store: Map<string, MapWatchStore<ClusterObject>>;
  hints: Map<string, Hint<ClusterObject>[]>;
  activity: AgentActivity[];
}

const IMAGE_V1 = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/shop:1.0`;
const IMAGE_V2 = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/shop:2.0`;

async function setup(options: { deliveryDelayMs?: number; factor?: number } = {}): Promise<Harness> {
  const sched = new WarpScheduler(options.factor ?? 600);
  emu = await startEcsEmulator({
    now: () => sched.now(),
    cloudTrailDeliveryDelayMs: options.deliveryDelayMs ?? 0,
  });
  const f = emu.fleet;
  f.createCluster({ name: 'prod', tags: { env: 'prod' } });
  f.registerContainerInstance({ cluster: 'prod' });
  const td1 = f.registerTaskDefinition({ family: 'shop', containers: [{ name: 'shop', image: IMAGE_V1 }] });
  f.createService({ cluster: 'prod', name: 'shop', taskDefinition: td1.arn, desiredCount: 2 });
  const deps = makeDeps({ scheduler: sched });
  adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps);
  const [r] = adapter.regions();
  if (!r) throw new Error('no region');
  const activity: AgentActivity[] = [];
  subs.push(adapter.activity$.subscribe((a) => activity.push(a)));
  const store = new Map<string, MapWatchStore<ClusterObject>>();
  const hints = new Map<string, Hint<ClusterObject>[]>();
  for (const s of [r.clusters, r.services, r.tasks, r.nodes] as WatchSource<ClusterObject>[]) {
    const { items, cursor } = await listAll(s);
    const held = MapWatchStore.of(
      items.map((o): [string, ClusterObject] => [objectKey(o), o]),
      s.indexers,
    );
    store.set(s.id, held);
    s.attachStore?.(held);
    const got: Hint<ClusterObject>[] = [];
    hints.set(s.id, got);
    subs.push(s.hints(cursor).subscribe({ next: (h) => got.push(h) }));
  }
  return { emu, r, deps, sched, store, hints, activity };
}

/** One engine-like cheap-poll round on the tasks source: poll, then getMany new / vanished keys. */
async function pollTasks(h: Harness): Promise<{ added: ClusterObject[]; gone: string[] }> {
  const store = h.store.get(h.r.tasks.id) ?? new MapWatchStore<ClusterObject>();
  const tokens = await h.r.tasks.cheapPoll.poll();
  const fetch = [...tokens.keys()].filter((k) => !store.has(k) || tokens.get(k) !== '');
  for (const k of store.keys()) if (!tokens.has(k)) fetch.push(k);
  const got =
    fetch.length > 0 ? await h.r.tasks.getMany(fetch) : new Map<string, ClusterObject | undefined>();
  const added: ClusterObject[] = [];
  const gone: string[] = [];
  for (const [k, v] of got) {
    if (v === undefined) {
      if (store.has(k)) gone.push(k);
      store.delete(k);
    } else {
      if (!store.has(k)) added.push(v);
      store.set(k, { object: v, hash: '', order: undefined, seen: 0 });
    }
  }
  return { added, gone };
}

function hintsOf(h: Harness, source: WatchSource<ClusterObject>): Hint<ClusterObject>[] {
  return h.hints.get(source.id) ?? [];
}

/** Describe* calls counted since the last reset, except the named actions. */
function describesOtherThan(h: Harness, except: string[]): Record<string, number> {
  return Object.fromEntries(
    Object.entries(h.emu.calls.byAction()).filter(([a]) => a.startsWith('Describe') && !except.includes(a)),
  );
}

function changedKeys(list: Hint<ClusterObject>[]): string[] {
  return list.flatMap((x) => (x.type === 'changed' ? [x.key] : []));
}

function familyKeys(list: Hint<ClusterObject>[]): string[] {
  return list.flatMap((x) => (x.type === 'family' ? [x.key] : []));
}

/**
 * What the engine's serial worker does with family hints: read each parent, then its children (the
 * keys `childKeysOf` names and the store's index holds) in one read; a child read as gone, and every
 * indexed child of a parent read as gone, is deleted. Returns the outcome as hints with state.
 */
async function expandFamilies(
  h: Harness,
  source: WatchSource<ClusterObject>,
  list: Hint<ClusterObject>[],
): Promise<Hint<ClusterObject>[]> {
  const store = h.store.get(source.id) ?? new MapWatchStore<ClusterObject>();
  const families = new Map<string, string>();
  for (const x of list) if (x.type === 'family') families.set(x.key, x.index);
  if (families.size === 0 || !source.getMany) return [];
  const parents = await source.getMany([...families.keys()]);
  const out: Hint<ClusterObject>[] = [];
  const children = new Set<string>();
  for (const [key, index] of families) {
    const parent = parents.get(key);
    if (parent === undefined) {
      if (store.has(key)) out.push({ type: 'deleted', key });
      for (const child of store.byIndex(index, key)) out.push({ type: 'deleted', key: child });
      continue;
    }
    out.push({ type: 'changed', key, state: parent });
    for (const child of store.byIndex(index, key)) children.add(child);
    for (const child of (await source.childKeysOf?.(parent)) ?? []) children.add(keyOfNamed(child));
  }
  const read = children.size > 0 ? await source.getMany([...children]) : new Map<string, ClusterObject>();
  for (const key of children) {
    const state = read.get(key);
    out.push(state === undefined ? { type: 'deleted', key } : { type: 'changed', key, state });
  }
  return out;
}

describe('ECS change detection', () => {
  it('a deployment (UpdateService) reaches the services hints and the scheduler-started tasks reach the cheap poll', async () => {
    const h = await setup();
    const f = h.emu.fleet;
    const before = [...(h.store.get(h.r.tasks.id)?.keys() ?? [])];
    expect(before).toHaveLength(2);
    const td2 = f.registerTaskDefinition({ family: 'shop', containers: [{ name: 'shop', image: IMAGE_V2 }] });
    const svc = f.updateService({ cluster: 'prod', service: 'shop', taskDefinition: td2.arn });
    const newDeployment = svc.deployments[0]?.id ?? '';
    const svcKey = workloadKey(f.arn(REGION, 'cluster/prod'), svc.arn);

    // CloudTrail: UpdateService -> a family hint of the service; the engine's read of it gives the
    // service and its new ReplicaSet with state, and the old one deleted.
    await vi.waitFor(
      async () => {
        expect(familyKeys(hintsOf(h, h.r.services))).toContain(svcKey);
        const list = await expandFamilies(h, h.r.services, hintsOf(h, h.r.services));
        // The newest hint for the service: an earlier one (a re-describe before the update) may
        // still show the old task definition.
        const dep = list.filter((x) => x.type === 'changed' && x.key.endsWith(svc.arn)).at(-1);
        expect(dep?.type === 'changed' ? dep.state : undefined).toMatchObject({
          kind: 'workload',
          workload: { kind: 'Deployment', containers: [{ image: { tag: '2.0' } }] },
        });
        expect(changedKeys(list).some((k) => k.endsWith(`#${newDeployment}`))).toBe(true);
        expect(list.filter((x) => x.type === 'deleted')).toHaveLength(1);
      },
      { timeout: 5000, interval: 20 },
    );

    // No RunTask/StopTask in CloudTrail: the cheap poll finds the new tasks and the vanished ones.
    h.emu.calls.reset();
    const serviceHintsBefore = hintsOf(h, h.r.services).length;
    const pollStartedMs = h.sched.now();
    const { added, gone } = await pollTasks(h);
    expect(gone.sort()).toEqual(before.sort());
    expect(added).toHaveLength(2);
    const ci = [...(f.clustersIn(REGION)[0]?.containerInstances.values() ?? [])][0];
    for (const o of added) {
      expect(o).toMatchObject({
        kind: 'workload',
        workload: {
          kind: 'Pod',
          nodeId: ci?.arn,
          owners: [
            { kind: 'ReplicaSet', uid: `${svc.arn}#${newDeployment}` },
            { kind: 'Deployment', uid: svc.arn },
          ],
          containers: [
            { name: 'shop', image: { reference: IMAGE_V2, tag: '2.0', digest: f.digestOf(IMAGE_V2) } },
          ],
        },
      });
    }
    // One ListTasks, one DescribeTasks for the two new ARNs; vanished ARNs cost nothing. (The
    // services source hints the service whose tasks changed; the engine reads it.) Calls on their
    // own timers (the CloudTrail poll, the cluster poll) are not part of this round: the warped
    // clock runs them more often on a loaded machine.
    expect(h.emu.calls.get('ListTasks')).toBe(1);
    expect(h.emu.calls.get('DescribeTasks')).toBe(1);
    expect(h.emu.calls.get('DescribeServices')).toBeLessThanOrEqual(1);
    expect(describesOtherThan(h, ['DescribeTasks', 'DescribeServices'])).toEqual({});
    // LAST SEEN moved for the polled cluster.
    expect(h.activity.at(-1)).toMatchObject({
      clusterId: clusterId('ECS', f.arn(REGION, 'cluster/prod')),
      controllerName: 'sightline-ecs',
      profile: 'observer',
    });
    expect(h.activity.at(-1)?.lastSeenMs).toBeGreaterThanOrEqual(pollStartedMs);

    // The tasks' service is re-described once (deployment progress: one DescribeServices for the
    // service and its ReplicaSets), then a quiet poll: no Describe at all.
    await vi.waitFor(() => expect(hintsOf(h, h.r.services).length).toBeGreaterThan(serviceHintsBefore), {
      timeout: 5000,
      interval: 10,
    });
    h.emu.calls.reset();
    const progress = await expandFamilies(
      h,
      h.r.services,
      hintsOf(h, h.r.services).slice(serviceHintsBefore),
    );
    expect(changedKeys(progress)).toContain(svcKey);
    expect(h.emu.calls.get('DescribeServices')).toBe(1);
    h.emu.calls.reset();
    const quiet = await pollTasks(h);
    expect(quiet).toEqual({ added: [], gone: [] });
    expect(h.emu.calls.get('ListTasks')).toBe(1);
    expect(describesOtherThan(h, [])).toEqual({});
  });

  it('a scheduler-only replacement (no CloudTrail event) is found by the cheap poll, with image, digest and node', async () => {
    const h = await setup();
    const f = h.emu.fleet;
    const trailBefore = h.emu.cloudTrail.size;
    f.pushImage(IMAGE_V1); // the tag moved: the replacement pulls a new digest
    const { stopped, started } = f.replaceServiceTasks({ cluster: 'prod', service: 'shop', count: 1 });
    expect(h.emu.cloudTrail.size).toBe(trailBefore); // nothing written to CloudTrail
    const { added, gone } = await pollTasks(h);
    const clusterArn = f.arn(REGION, 'cluster/prod');
    expect(gone).toEqual(stopped.map((arn) => workloadKey(clusterArn, arn)));
    expect(added.map((o) => (o.kind === 'workload' ? o.workload.uid : ''))).toEqual(started);
    expect(added[0]).toMatchObject({
      kind: 'workload',
      workload: { containers: [{ image: { tag: '1.0', digest: f.digestOf(IMAGE_V1) } }], status: 'RUNNING' },
    });
    // The services source is told (task started/stopped) and re-describes the service.
    await vi.waitFor(() => expect(familyKeys(hintsOf(h, h.r.services)).length).toBeGreaterThan(0), {
      timeout: 5000,
      interval: 20,
    });
  });

  it('DeleteCluster gives a deleted hint for every task the engine holds in that cluster, and none for others', async () => {
    const h = await setup();
    const f = h.emu.fleet;
    f.createCluster({ name: 'other' });
    const td = f.findTaskDefinition(REGION, 'shop');
    if (!td) throw new Error('no td');
    const [elsewhere] = f.runTask({ cluster: 'other', taskDefinition: td.arn });
    if (!elsewhere) throw new Error('setup');
    const held = h.store.get(h.r.tasks.id);
    if (!held) throw new Error('no task store');
    // The task in the other cluster is held too, fetched as the engine would after its RunTask hint
    // (which also makes the new cluster known to the source).
    const otherKey = workloadKey(f.arn(REGION, 'cluster/other'), elsewhere.arn);
    await vi.waitFor(() => expect(changedKeys(hintsOf(h, h.r.tasks))).toContain(otherKey), {
      timeout: 5000,
      interval: 10,
    });
    const otherObj = await h.r.tasks.get(otherKey);
    if (!otherObj) throw new Error('other task not found');
    held.set(otherKey, { object: otherObj, hash: '', order: undefined, seen: 0 });
    const prodKeys = [...held.keys()].filter((k) => k !== otherKey);
    expect(prodKeys).toHaveLength(2);

    f.deleteCluster('prod');
    await vi.waitFor(
      () => {
        const deleted = hintsOf(h, h.r.tasks).flatMap((x) => (x.type === 'deleted' ? [x.key] : []));
        expect(deleted.sort()).toEqual([...prodKeys].sort());
      },
      { timeout: 5000, interval: 10 },
    );
  });

  it('RunTask, StopTask, CreateCluster, TagResource, RegisterContainerInstance, DeleteService reach the hints', async () => {
    const h = await setup();
    const f = h.emu.fleet;
    const td = f.findTaskDefinition(REGION, 'shop');
    if (!td) throw new Error('no td');
    const [run] = f.runTask({ cluster: 'prod', taskDefinition: td.arn, tags: { batch: 'nightly' } });
    const victim = [...(f.clustersIn(REGION)[0]?.tasks.values() ?? [])].find(
      (t) => t.group === 'service:shop',
    );
    if (!run || !victim) throw new Error('setup');
    f.stopTask({ cluster: 'prod', task: victim.arn.split('/').pop() ?? '' }); // by id, as the CLI allows
    const c2 = f.createCluster({ name: 'staging' });
    f.tagResource(f.arn(REGION, 'cluster/prod'), { costCenter: '42' });
    const ci = f.registerContainerInstance({ cluster: 'prod', instanceType: 'r7i.large' });
    f.deleteService({ cluster: 'prod', service: 'shop' });

    await vi.waitFor(
      () => {
        const tasks = changedKeys(hintsOf(h, h.r.tasks));
        expect(tasks.some((k) => k.endsWith(run.arn))).toBe(true);
        expect(tasks.some((k) => k.endsWith(victim.arn))).toBe(true);
        const clusters = changedKeys(hintsOf(h, h.r.clusters));
        expect(clusters.some((k) => k.startsWith('cluster/'))).toBe(true);
        expect(clusters.filter((k) => k.startsWith('namespace/')).map((k) => k.split('/').pop())).toEqual(
          expect.arrayContaining(['staging', 'prod']),
        );
        expect(changedKeys(hintsOf(h, h.r.nodes)).some((k) => k.endsWith(ci.arn))).toBe(true);
        expect(familyKeys(hintsOf(h, h.r.services)).length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 20 },
    );
    // What the engine does with those hints: get / getMany.
    const runGot = await h.r.tasks.getMany(changedKeys(hintsOf(h, h.r.tasks)));
    const runObj = [...runGot.values()].find((o) => o?.kind === 'workload' && o.workload.uid === run.arn);
    expect(runObj).toMatchObject({ workload: { owners: [], labels: { batch: 'nightly' } } });
    const victimKey = changedKeys(hintsOf(h, h.r.tasks)).find((k) => k.endsWith(victim.arn)) ?? '';
    expect(await h.r.tasks.get(victimKey)).toBeUndefined(); // stopped: it left the cluster
    const nodeKey = changedKeys(hintsOf(h, h.r.nodes)).find((k) => k.endsWith(ci.arn)) ?? '';
    expect(await h.r.nodes.get(nodeKey)).toMatchObject({ node: { metadata: { instanceType: 'r7i.large' } } });
    const clusterKeys = changedKeys(hintsOf(h, h.r.clusters));
    const clusters = await h.r.clusters.getMany(clusterKeys);
    const prod = [...clusters.values()].find((o) => o?.kind === 'cluster' && o.cluster.name === 'prod');
    expect(prod).toMatchObject({ cluster: { labels: { env: 'prod', costCenter: '42' } } });
    expect([...clusters.values()].some((o) => o?.kind === 'cluster' && o.cluster.remoteId === c2.arn)).toBe(
      true,
    );
    const deleted = (await expandFamilies(h, h.r.services, hintsOf(h, h.r.services)))
      .filter((x) => x.type === 'deleted')
      .map((x) => (x.type === 'deleted' ? x.key : ''));
    expect(deleted.length).toBeGreaterThanOrEqual(2);
    for (const k of deleted) expect(await h.r.services.get(k)).toBeUndefined();
    // Bookmarks arrive after complete windows.
    expect(hintsOf(h, h.r.tasks).some((x) => x.type === 'bookmark')).toBe(true);
    expect(await apiCalls(h.deps, { operation: 'LookupEvents', outcome: 'ok' })).toBeGreaterThan(0);
  });
});
