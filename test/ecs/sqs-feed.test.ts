/**
 * The pushed ECS change feed (EventBridge -> SQS) under the watch engine, through the real SDK
 * clients against the ECS and SQS emulators: changes arrive from events without ListTasks or a
 * DescribeTasks of known tasks; duplicates, reordering and older versions change nothing; a dropped
 * event is caught by the reconciliation; an outage falls back to polling and returns; poison
 * messages are counted and deleted; a message is deleted only after its effect is durable, and a
 * process killed between receive and delete gets it again with no duplicate effect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PartialPoll } from '../../src/watch/source.js';
import { workloadKey } from '../../adapters/ecs/keys.js';
import { DURABLE_WAIT_MS } from '../../adapters/aws/sqs-feed.js';
import { clusterId } from '../../src/model/index.js';
import type { AgentActivity, ClusterObject } from '../../src/model/index.js';
import type { Hint, WatchSource } from '../../src/watch/source.js';
import { REGION } from './helpers.js';
import {
  IMAGE,
  QUEUE,
  fallbackGauge,
  feedMessages,
  inQueue,
  seedService,
  startFeedWorld,
  until,
} from './feed-harness.js';
import type { FeedWorld } from './feed-harness.js';

let w: FeedWorld | undefined;

afterEach(async () => {
  await w?.close();
  w = undefined;
});

function serviceTaskKeys(world: FeedWorld, clusters = ['prod']): string[] {
  const f = world.ecs.fleet;
  return clusters
    .flatMap((name) => {
      const c = f.findCluster(REGION, name);
      if (!c) return [];
      return [...c.tasks.values()]
        .filter((t) => t.desiredStatus === 'RUNNING')
        .map((t) => workloadKey(c.arn, t.arn));
    })
    .sort();
}

function heldTasks(store: { keys(): IterableIterator<string> }): string[] {
  return [...store.keys()].sort();
}

function imageOf(o: ClusterObject | undefined): unknown {
  return o?.kind === 'workload' ? o.workload.containers[0]?.image : undefined;
}

async function synced(world: FeedWorld): Promise<ReturnType<FeedWorld['watch']>> {
  const watched = world.watch(world.region.tasks);
  await until(() => expect(watched.engine.synced).toBe(true));
  return watched;
}

describe('ECS pushed change feed (EventBridge -> SQS)', { timeout: 120_000 }, () => {
  it('delivers scheduler-started and stopped tasks from events: no ListTasks, and deletes the messages once durable', async () => {
    w = await startFeedWorld();
    seedService(w, 2);
    w.events.attach();
    const { engine } = await synced(w);
    w.ecs.calls.reset();
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 4, cloudTrail: false });
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 1, cloudTrail: false });
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    expect(engine.store.size).toBe(1);
    expect(w.ecs.calls.get('ListTasks')).toBe(0);
    await until(async () => expect(await feedMessages((w as FeedWorld).deps, 'acked')).toBe(5));
    expect(inQueue(w)).toBe(0);
  });

  it('a digest that arrives in a later event resolves the image without a DescribeTasks', async () => {
    w = await startFeedWorld();
    const f = w.ecs.fleet;
    seedService(w, 0);
    w.events.attach();
    const { engine } = await synced(w);
    // The image is not pulled yet: the first event has no digest.
    const digest = f.digestOf(IMAGE);
    f.setImageDigest(IMAGE, null);
    f.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 1, cloudTrail: false });
    const [key] = serviceTaskKeys(w);
    if (key === undefined) throw new Error('no task');
    await until(() => expect(engine.store.has(key)).toBe(true));
    expect(imageOf(engine.store.get(key))).toMatchObject({
      unresolved: { reason: 'not-reported-by-provider' },
    });
    const c = f.findCluster(REGION, 'prod');
    const task = [...(c?.tasks.values() ?? [])][0];
    if (!task || digest === null) throw new Error('no task');
    w.ecs.calls.reset();
    for (const ct of task.containers) ct.imageDigest = digest;
    task.version++;
    w.events.task(task);
    await until(() => expect(imageOf(engine.store.get(key))).toMatchObject({ digest }));
    expect(imageOf(engine.store.get(key))).not.toHaveProperty('unresolved');
    expect(w.ecs.calls.get('DescribeTasks')).toBe(0);
  });

  it('duplicates, reordering and an older version change nothing', async () => {
    w = await startFeedWorld();
    seedService(w, 2);
    w.events.attach();
    const { engine, events } = await synced(w);
    w.sqs.knobs.duplicateRate = 1;
    w.sqs.knobs.reorder = true;
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 6, cloudTrail: false });
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    await until(() => expect(inQueue(w as FeedWorld)).toBe(0));
    const added = events.filter((e) => e.type === 'ADDED').length;
    expect(added).toBe(6);
    expect(await feedMessages(w.deps, 'duplicate')).toBeGreaterThanOrEqual(4);
    // An old state of a running task, sent after a newer one, never overwrites it.
    const c = w.ecs.fleet.findCluster(REGION, 'prod');
    const task = [...(c?.tasks.values() ?? [])].find((t) => t.desiredStatus === 'RUNNING');
    if (!task || !c) throw new Error('no task');
    const key = workloadKey(c.arn, task.arn);
    task.version += 2;
    w.events.task(task);
    await until(() => expect(engine.store.entry(key)?.order).toBe(task.version));
    const saved = task.lastStatus;
    task.lastStatus = 'PENDING';
    task.version -= 1;
    w.events.task(task);
    task.lastStatus = saved;
    await until(() => expect(inQueue(w as FeedWorld)).toBe(0));
    expect(engine.store.get(key)).toMatchObject({ workload: { status: 'RUNNING' } });
    expect(events.filter((e) => e.type === 'MODIFIED' && e.key === key)).toHaveLength(0);
  });

  it('a dropped event is caught by the reconciliation within its period', async () => {
    w = await startFeedWorld({ changeFeed: { reconcileIntervalMs: 60_000 } });
    seedService(w, 1);
    w.events.attach();
    const { engine } = await synced(w);
    w.sqs.knobs.lossRate = 1;
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 3, cloudTrail: false });
    w.ecs.calls.reset();
    w.sched.advance(60_000);
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    expect(engine.store.size).toBe(3);
    expect(w.ecs.calls.get('ListTasks')).toBeGreaterThan(0);
  });

  it('dropped events in every cluster are all caught within one period of the start, however late the polls come', async () => {
    // Real-time clock (factor 1): only the explicit jump moves it far. Three clusters, a 60 s
    // period: a slice of one cluster is due every 20 s, the first 20 s after start. The jump makes
    // three slices due at once, as when the budget stretches the polls: the next poll lists them all.
    w = await startFeedWorld({ factor: 1, changeFeed: { reconcileIntervalMs: 60_000 } });
    const f = w.ecs.fleet;
    const clusters = ['prod', 'dev', 'test'];
    for (const name of clusters) {
      f.createCluster({ name });
      const td = f.registerTaskDefinition({
        family: `app-${name}`,
        containers: [{ name: 'app', image: IMAGE }],
      });
      f.createService({ cluster: name, name: 'app', taskDefinition: td.arn, desiredCount: 1 });
    }
    w.events.attach();
    const { engine } = await synced(w);
    w.sqs.knobs.lossRate = 1;
    for (const name of clusters)
      f.scaleService({ cluster: name, service: 'app', desiredCount: 2, cloudTrail: false });
    w.ecs.calls.reset();
    w.sched.advance(60_000);
    await until(
      () => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld, clusters)),
      10_000,
    );
    expect(engine.store.size).toBe(6);
    expect(w.ecs.calls.get('ListTasks')).toBeGreaterThanOrEqual(3);
  });

  it('lists every cluster again within the period of its last list, though a due slice waits for the next poll', async () => {
    // Four clusters, a 60 s period, a 5 s task poll: a slice falls due between polls and waits for
    // the next one. Each poll's scope (the clusters it listed) is recorded on the virtual clock.
    w = await startFeedWorld({ changeFeed: { reconcileIntervalMs: 60_000 }, taskPollIntervalMs: 5_000 });
    const f = w.ecs.fleet;
    for (const name of ['a', 'b', 'c', 'd']) f.createCluster({ name });
    w.events.attach();
    const tasks = w.region.tasks;
    const poll = tasks.cheapPoll.poll.bind(tasks.cheapPoll);
    const listedAt = new Map<string, number[]>();
    const world = w;
    tasks.cheapPoll.poll = async () => {
      const tokens = await poll();
      if (tokens instanceof PartialPoll)
        for (const c of tokens.scope.values) listedAt.set(c, [...(listedAt.get(c) ?? []), world.sched.now()]);
      return tokens;
    };
    await synced(w);
    const start = w.sched.now();
    await until(() => expect(w?.sched.now()).toBeGreaterThan(start + 250_000), 60_000);
    expect(listedAt.size).toBe(4);
    for (const times of listedAt.values()) {
      expect(times.length).toBeGreaterThanOrEqual(4);
      for (let i = 1; i < times.length; i++)
        expect((times[i] as number) - (times[i - 1] as number)).toBeLessThanOrEqual(60_000);
    }
  });

  it('a consumer slow to make a batch durable keeps its messages invisible: no redelivery, nothing in the dead-letter queue', async () => {
    w = await startFeedWorld();
    seedService(w, 1);
    w.events.attach();
    const { engine } = await synced(w);
    w.ack = false; // the outbox does not confirm: the batch stays held
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 3, cloudTrail: false });
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    const held = w.sqs.queue(QUEUE)?.messages.length ?? 0;
    expect(held).toBeGreaterThan(0);
    // Four extensions, one every third of the 30 s visibility timeout: past the point where
    // the messages would have become visible and been received again.
    const t0 = w.sched.now();
    await until(() =>
      expect(w?.sqs.calls.get('ChangeMessageVisibilityBatch') ?? 0).toBeGreaterThanOrEqual(4),
    );
    expect(w.sched.now() - t0).toBeGreaterThan(30_000);
    expect(w.sqs.queue(QUEUE)?.messages.map((m) => m.receiveCount)).toEqual(new Array<number>(held).fill(1));
    expect(w.sqs.queue(`${QUEUE}-dlq`)?.messages ?? []).toHaveLength(0);
    expect(await feedMessages(w.deps, 'duplicate')).toBe(0);
    // Once a later bookmark is durable, everything held is deleted.
    w.ack = true;
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 2, cloudTrail: false });
    await until(() => expect(inQueue(w as FeedWorld)).toBe(0));
    expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w));
  });

  it('a batch a consumer never makes durable is given up on after 10 minutes: that consumer relists, the batch is deleted', async () => {
    // A 15-minute visibility timeout: the messages stay invisible across the jump below.
    w = await startFeedWorld({ factor: 100, visibilityTimeoutMs: 900_000 });
    seedService(w, 1);
    w.events.attach();
    const { engine, events } = await synced(w);
    w.ack = false;
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 2, cloudTrail: false });
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    expect(inQueue(w)).toBeGreaterThan(0);
    const relists = (): number => events.filter((e) => e.type === 'RELIST' && e.phase === 'done').length;
    const relistsBefore = relists();
    w.sched.advance(DURABLE_WAIT_MS);
    await until(() => expect(inQueue(w as FeedWorld)).toBe(0));
    await until(() => expect(relists()).toBeGreaterThan(relistsBefore));
    expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w));
    expect(w.sqs.queue(`${QUEUE}-dlq`)?.messages ?? []).toHaveLength(0);
  });

  it('an outage falls back to polling (gauge, health) and returns when receives succeed', async () => {
    w = await startFeedWorld();
    seedService(w, 1);
    w.events.attach();
    const { engine, events } = await synced(w);
    w.sqs.knobs.outage = true;
    await until(() => expect(w?.sqs.calls.get('ReceiveMessage')).toBeGreaterThan(1));
    w.sched.advance(60_000);
    await until(async () => expect(await fallbackGauge((w as FeedWorld).deps)).toBe(1));
    expect(w.adapter.health?.()).toMatchObject({
      ok: true,
      detail: { feeds: [{ mode: 'fallback', reason: 'receiving from the queue fails' }] },
    });
    // Polling covers what the queue cannot deliver now.
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 2, cloudTrail: false });
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    const relistsBefore = events.filter((e) => e.type === 'RELIST' && e.phase === 'done').length;
    w.sqs.knobs.outage = false;
    await until(async () => expect(await fallbackGauge((w as FeedWorld).deps)).toBe(0));
    expect(w.adapter.health?.()).toMatchObject({ detail: { feeds: [{ mode: 'pushed' }] } });
    // The return is a gap: one relist reads what happened meanwhile.
    await until(() =>
      expect(events.filter((e) => e.type === 'RELIST' && e.phase === 'done').length).toBeGreaterThan(
        relistsBefore,
      ),
    );
    await until(() => expect(inQueue(w as FeedWorld)).toBe(0));
    expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w));
  });

  it('poison and foreign messages are counted and deleted; the feed goes on', async () => {
    w = await startFeedWorld();
    seedService(w, 1);
    w.events.attach();
    const { engine } = await synced(w);
    w.events.raw('not json at all');
    w.events.raw('{"Type":"Notification","Message":"{broken"}');
    w.events.raw(
      JSON.stringify({
        id: 'x',
        'detail-type': 'EC2 Instance State-change Notification',
        source: 'aws.ec2',
        detail: {},
      }),
    );
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 2, cloudTrail: false });
    await until(() => expect(heldTasks(engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    await until(() => expect(inQueue(w as FeedWorld)).toBe(0));
    expect(await feedMessages(w.deps, 'unparseable')).toBe(2);
    expect(await feedMessages(w.deps, 'foreign')).toBe(1);
    expect(w.sqs.queue(`sightline-ecs-events-dlq`)?.messages).toHaveLength(0);
  });

  it('deletes a message only after durable; killed between receive and delete, a new process gets it again with no duplicate effect', async () => {
    w = await startFeedWorld({ factor: 1 });
    seedService(w, 1);
    w.events.attach();
    w.ack = false;
    const first = await synced(w);
    w.ecs.fleet.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 2, cloudTrail: false });
    await until(() => expect(heldTasks(first.engine.store)).toEqual(serviceTaskKeys(w as FeedWorld)));
    // Applied, BOOKMARKed, but not durable: still in the queue (in flight).
    await until(() => expect(first.events.some((e) => e.type === 'BOOKMARK')).toBe(true));
    expect(inQueue(w)).toBe(1);
    // kill -9: no delete happens.
    await w.restart();
    w.ack = true;
    const second = await synced(w);
    expect(heldTasks(second.engine.store)).toEqual(serviceTaskKeys(w));
    const received = w.sqs.calls.get('ReceiveMessage');
    w.sched.advance(30_000);
    w.sqs.wake();
    await until(() => expect(w?.sqs.calls.get('ReceiveMessage')).toBeGreaterThan(received));
    await until(async () => expect(await feedMessages((w as FeedWorld).deps, 'acked')).toBe(1));
    expect(inQueue(w)).toBe(0);
    // The redelivered event is a no-op: the list already had the task.
    expect(second.events.filter((e) => e.type === 'ADDED')).toHaveLength(2);
    expect(second.events.filter((e) => e.type === 'MODIFIED' || e.type === 'DELETED')).toHaveLength(0);
  });

  it('a source that subscribes after a batch arrived, from a list cursor taken before it, still gets that batch', async () => {
    w = await startFeedWorld();
    seedService(w, 1);
    w.events.attach();
    await synced(w); // the tasks source keeps the queue's long poll going
    const nodes = w.region.nodes as WatchSource<ClusterObject>;
    const listed = await nodes.list(undefined);
    expect(listed.cursor).toBeDefined();
    const mappedBefore = await feedMessages(w.deps, 'mapped');
    w.ecs.fleet.registerContainerInstance({ cluster: 'prod', recordEvent: false });
    // The feed received and fanned out the instance's event while the nodes source was not listening.
    await until(async () =>
      expect(await feedMessages((w as FeedWorld).deps, 'mapped')).toBeGreaterThan(mappedBefore),
    );
    const hints: Hint<ClusterObject>[] = [];
    const sub = nodes.hints(listed.cursor).subscribe((h) => hints.push(h));
    try {
      await until(() => expect(hints.map((h) => h.type)).toContain('changed'));
    } finally {
      sub.unsubscribe();
    }
  });

  it('while the feed is live, a task poll moves the LAST SEEN of every cluster, not only of the slice it lists', async () => {
    w = await startFeedWorld();
    seedService(w, 1);
    w.ecs.fleet.createCluster({ name: 'dev' });
    w.events.attach();
    await synced(w);
    const seen: AgentActivity[] = [];
    const sub = w.adapter.activity$.subscribe((a) => seen.push(a));
    try {
      w.ecs.calls.reset();
      const poll = w.region.tasks.cheapPoll;
      await poll.poll();
      // No reconciliation slice is due yet (one a reconcile period): nothing listed...
      expect(w.ecs.calls.get('ListTasks') ?? 0).toBe(0);
      // ...and still both clusters are seen: the live feed watches them.
      const ids = new Set(seen.map((a) => a.clusterId));
      for (const name of ['prod', 'dev'])
        expect(ids).toContain(clusterId('ECS', w.ecs.fleet.arn(REGION, `cluster/${name}`)));
    } finally {
      sub.unsubscribe();
    }
  });
});
