/**
 * ECS adapter benchmark against the wire-level emulator (real SDK clients on loopback).
 *
 * Fleet: 20 clusters, 500 services, 10,000 tasks, 300 task definitions, 200 container instances.
 * Figures: initial-list API calls vs the theoretical minimum and a naive full poll; initial-list time
 * under the emulator's AWS throttling with budget 100 % (real clock) and 25 % (warped clock) vs the
 * minimum those budgets allow; steady-state calls per hour with no change (a simulated period on a
 * warped clock, extrapolated linearly); time to detect a scheduler-only replacement and a
 * CloudTrail-visible change; LookupEvents cost of the two lookup attributes.
 *
 * Prints progress to stderr only. The driver below does what the watch engine does with a source
 * (list all pages, retry on throttling, cheap poll -> getMany, hints -> getMany) without depending on it.
 */
import { Subscription } from 'rxjs';
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { pino } from 'pino';
import type { BenchFigure, BenchSection } from './report.js';
import { ecsSchema } from '../adapters/ecs/config.js';
import type { ClusterObject } from '../src/model/index.js';
import { objectKey } from '../src/model/index.js';
import { CoreMetrics, Registry } from '../src/runtime/metrics.js';
import { MemoryCache } from '../src/provider/cache.js';
import { ApiBudget } from '../src/watch/budget.js';
import type { BucketLimit } from '../src/watch/budget.js';
import { CLOUDTRAIL_BUCKETS } from '../adapters/aws/limits.js';
import { ECS_BUCKETS, ecsBucketFor } from '../adapters/ecs/limits.js';
import { isThrottling } from '../src/watch/source.js';
import type { WatchSource } from '../src/watch/source.js';
import { createEcsAdapter } from '../adapters/ecs/index.js';
import type { EcsAdapter, EcsRegionSources } from '../adapters/ecs/index.js';
import { startEcsEmulator } from '../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../adapters/ecs/emulator/index.js';

const FLEET = {
  clusters: 20,
  servicesPerCluster: 25,
  tasksPerService: 20,
  taskDefinitions: 300,
  containerInstancesPerCluster: 10,
};
const ACCOUNT = '123456789012';
const MIN_MS = 60_000;

const log = (msg: string): void => {
  process.stderr.write(`[bench ecs] ${msg}\n`);
};

/** Real timers, virtual clock running `factor` times faster. */
class WarpScheduler implements SchedulerLike {
  private readonly realStart = Date.now();
  constructor(
    readonly factor: number,
    private readonly startMs = Date.UTC(2026, 10, 27, 12, 0, 0),
  ) {}
  now(): number {
    return this.startMs + (Date.now() - this.realStart) * this.factor;
  }
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const sub = new Subscription();
    const action = {
      schedule: (s?: T, d?: number) => {
        sub.add(this.schedule(work, d ?? 0, s));
        return sub;
      },
      closed: false,
    } as unknown as SchedulerAction<T>;
    const t = setTimeout(() => work.call(action, state), Math.max(0, delay / this.factor));
    sub.add(() => clearTimeout(t));
    return sub;
  }
}

function ceil(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** Calls per action of the minimal initial list (what the adapter is designed to do). */
function minimumCalls(): Record<string, number> {
  const tasksPerCluster = FLEET.servicesPerCluster * FLEET.tasksPerService;
  return {
    ListClusters: ceil(FLEET.clusters, 100),
    DescribeClusters: ceil(FLEET.clusters, 100),
    ListServices: FLEET.clusters * ceil(FLEET.servicesPerCluster, 100),
    DescribeServices: FLEET.clusters * ceil(FLEET.servicesPerCluster, 10),
    DescribeTaskDefinition: FLEET.taskDefinitions,
    // RUNNING pages + one STOPPED page per cluster (tasks that ran within the last hour, first list only).
    ListTasks: FLEET.clusters * (ceil(tasksPerCluster, 100) + 1),
    DescribeTasks: FLEET.clusters * ceil(tasksPerCluster, 100),
    ListContainerInstances: FLEET.clusters * ceil(FLEET.containerInstancesPerCluster, 100),
    DescribeContainerInstances: FLEET.clusters * ceil(FLEET.containerInstancesPerCluster, 100),
  };
}

/** A naive full poll: SDK default page sizes, one Describe per resource, tags per resource, task definition per task. */
function naiveCalls(): number {
  const c = FLEET.clusters;
  const services = c * FLEET.servicesPerCluster;
  const tasks = services * FLEET.tasksPerService;
  const instances = c * FLEET.containerInstancesPerCluster;
  return (
    1 + // ListClusters
    c + // DescribeClusters per cluster
    c + // ListTagsForResource per cluster
    c * ceil(FLEET.servicesPerCluster, 10) + // ListServices, default page 10
    services * 2 + // DescribeServices + ListTagsForResource per service
    services + // DescribeTaskDefinition per service
    c * ceil(FLEET.servicesPerCluster * FLEET.tasksPerService, 100) + // ListTasks
    tasks * 3 + // DescribeTasks + ListTagsForResource + DescribeTaskDefinition per task
    c + // ListContainerInstances
    instances * 2 // DescribeContainerInstances + ListTagsForResource per instance
  );
}

/** The shortest time the budget allows for `calls`: buckets drain in parallel. */
function budgetMinimumMs(calls: Record<string, number>, fraction: number): number {
  const perBucket = new Map<string, number>();
  for (const [op, n] of Object.entries(calls))
    perBucket.set(ecsBucketFor(op), (perBucket.get(ecsBucketFor(op)) ?? 0) + n);
  let worst = 0;
  for (const [bucket, n] of perBucket) {
    const doc: BucketLimit | undefined = ECS_BUCKETS[bucket];
    if (!doc) continue;
    const burst = Math.max(1, Math.floor(doc.burst * fraction));
    const refill = doc.refillPerSecond * fraction;
    worst = Math.max(worst, (Math.max(0, n - burst) / refill) * 1000);
  }
  return worst;
}

interface Harness {
  emu: EcsEmulator;
  adapter: EcsAdapter;
  r: EcsRegionSources;
  registry: Registry;
  scheduler: SchedulerLike;
}

async function makeHarness(options: {
  scheduler: SchedulerLike;
  fraction: number;
  lookupAttribute?: 'EventSource' | 'ReadOnly';
  deliveryDelayMs?: number;
}): Promise<Harness> {
  const emu = await startEcsEmulator({
    now: () => options.scheduler.now(),
    cloudTrailDeliveryDelayMs: options.deliveryDelayMs ?? 0,
    throttling: { enabled: true, scale: 1 },
  });
  emu.fleet.generate(FLEET);
  const registry = new Registry();
  const config = ecsSchema.parse({
    account: ACCOUNT,
    regions: ['us-east-1'],
    credentials: { source: 'static', accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
    endpoints: { ecs: emu.endpoint, cloudtrail: emu.endpoint },
    cloudTrail: { lookupAttribute: options.lookupAttribute ?? 'ReadOnly' },
  });
  const adapter = createEcsAdapter(config, {
    logger: pino({ level: 'silent' }),
    metrics: new CoreMetrics(registry),
    budget: new ApiBudget({ ...ECS_BUCKETS, ...CLOUDTRAIL_BUCKETS }, options.fraction, options.scheduler),
    scheduler: options.scheduler,
    cache: new MemoryCache(),
    tenant: { group: 'bench', issuer: 'https://issuer.example.com' },
    agentVersion: 'bench',
    clusterPollIntervalMs: config.taskPollIntervalMs,
  });
  const [r] = adapter.regions();
  if (!r) throw new Error('no region');
  return { emu, adapter, r, registry, scheduler: options.scheduler };
}

async function close(h: Harness): Promise<void> {
  await h.adapter.close();
  await h.emu.stop();
}

const sources = (r: EcsRegionSources): WatchSource<ClusterObject>[] => [
  r.clusters,
  r.services,
  r.tasks,
  r.nodes,
];

/** Lists every page of a source, retrying a page on throttling (as the engine does); counts surfaced errors. */
async function listAll(
  s: WatchSource<ClusterObject>,
  errors: { throttled: number; other: number },
): Promise<{ store: Map<string, ClusterObject>; cursor?: string }> {
  const store = new Map<string, ClusterObject>();
  let token: string | undefined;
  let cursor: string | undefined;
  let first = true;
  for (;;) {
    try {
      const page = await s.list(token);
      if (first && page.cursor !== undefined) cursor = page.cursor;
      first = false;
      for (const o of page.items) store.set(objectKey(o), o);
      token = page.nextPageToken;
      if (token === undefined) return cursor !== undefined ? { store, cursor } : { store };
    } catch (err) {
      if (isThrottling(err)) errors.throttled++;
      else errors.other++;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

async function initialList(h: Harness): Promise<{
  ms: number;
  stores: Map<string, ClusterObject>[];
  cursors: (string | undefined)[];
  errors: { throttled: number; other: number };
}> {
  const errors = { throttled: 0, other: 0 };
  const t0 = h.scheduler.now();
  const results = await Promise.all(sources(h.r).map((s) => listAll(s, errors)));
  return {
    ms: h.scheduler.now() - t0,
    stores: results.map((x) => x.store),
    cursors: results.map((x) => x.cursor),
    errors,
  };
}

/** Engine-like steady state: cheap poll on its interval, hints -> getMany. Returns a stopper. */
function runSteady(
  h: Harness,
  stores: Map<string, ClusterObject>[],
  cursors: (string | undefined)[],
  onTaskAdded: (key: string) => void,
  onHint: (sourceIndex: number, key: string) => void,
): () => void {
  let stopped = false;
  const subs = new Subscription();
  const taskStore = stores[2] ?? new Map<string, ClusterObject>();
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const tokens = await h.r.tasks.cheapPoll.poll();
        const fetch = [...tokens.keys()].filter((k) => !taskStore.has(k) || tokens.get(k) !== '');
        for (const k of taskStore.keys()) if (!tokens.has(k)) fetch.push(k);
        if (fetch.length > 0) {
          const got = await h.r.tasks.getMany(fetch);
          for (const [k, v] of got) {
            if (v === undefined) taskStore.delete(k);
            else {
              if (!taskStore.has(k)) onTaskAdded(k);
              taskStore.set(k, v);
            }
          }
        }
      } catch {
        // the engine backs off; so do we
      }
      await new Promise<void>((res) => h.scheduler.schedule(() => res(), h.r.tasks.cheapPoll.intervalMs));
    }
  };
  void loop();
  sources(h.r).forEach((s, i) => {
    subs.add(
      s.hints(cursors[i]).subscribe({
        next: (hint) => {
          if (hint.type === 'changed' || hint.type === 'deleted') {
            onHint(i, hint.key);
            if (hint.type === 'changed' && hint.state === undefined)
              void s.getMany?.([hint.key]).catch(() => undefined);
          }
        },
        error: () => undefined,
      }),
    );
  });
  return () => {
    stopped = true;
    subs.unsubscribe();
  };
}

function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) resolve(true);
      else if (Date.now() - start > timeoutMs) resolve(false);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

async function countApi(registry: Registry, outcome: string): Promise<number> {
  const m = registry.getSingleMetric('sightline_api_calls_total');
  if (!m) return 0;
  const v = await m.get();
  return v.values.filter((x) => x.labels['outcome'] === outcome).reduce((a, x) => a + x.value, 0);
}

export async function run(): Promise<BenchSection> {
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  const minimum = minimumCalls();
  const minimumTotal = Object.values(minimum).reduce((a, b) => a + b, 0);

  // A. Initial list, budget 100 %, real clock, emulator throttling at AWS figures.
  log('initial list, budget 100 %, real clock');
  {
    const h = await makeHarness({ scheduler: asyncScheduler, fraction: 1 });
    const res = await initialList(h);
    const issued =
      (await countApi(h.registry, 'ok')) +
      (await countApi(h.registry, 'throttled')) +
      (await countApi(h.registry, 'error'));
    const allowedMs = budgetMinimumMs(minimum, 1);
    figures.push(
      {
        metric: 'initial list API calls completed by the adapter (20 clusters, 500 services, 10,000 tasks)',
        value: issued,
        unit: 'calls',
        target: `= ${minimumTotal} (minimum)`,
        pass: issued === minimumTotal,
      },
      { metric: 'initial list API calls, theoretical minimum', value: minimumTotal, unit: 'calls' },
      { metric: 'initial list API calls, naive full poll', value: naiveCalls(), unit: 'calls' },
      {
        metric:
          'initial list requests received by the emulator (incl. SDK retries of throttled calls), budget 100 %',
        value: h.emu.calls.total(),
        unit: 'requests',
      },
      {
        metric: 'initial list time, budget 100 %',
        value: Math.round(res.ms),
        unit: 'ms',
        target: `≤ ${Math.round(allowedMs * 1.2)} (1.2 × ${Math.round(allowedMs)} the budget allows)`,
        pass: res.ms <= allowedMs * 1.2,
      },
      {
        metric: 'ThrottlingExceptions surfacing as errors, budget 100 %',
        value: res.errors.throttled + res.errors.other,
        unit: 'errors',
        target: '0',
        pass: res.errors.throttled + res.errors.other === 0,
      },
      {
        metric:
          'ThrottlingExceptions answered by the emulator (absorbed by SDK / adapter retry), budget 100 %',
        value: h.emu.calls.throttled(),
        unit: 'responses',
      },
    );
    const objects = res.stores.reduce((a, s) => a + s.size, 0);
    notes.push(
      `Initial list produced ${objects} objects; calls by action: ${JSON.stringify(h.emu.calls.byAction())}.`,
    );
    await close(h);
  }

  // B. Initial list, budget 25 % (the default), clock warped ×20 for adapter budget and emulator alike.
  log('initial list, budget 25 %, warped clock ×20');
  {
    const h = await makeHarness({ scheduler: new WarpScheduler(20), fraction: 0.25 });
    const res = await initialList(h);
    const allowedMs = budgetMinimumMs(minimum, 0.25);
    figures.push({
      metric: 'initial list time, budget 25 % (virtual time)',
      value: Math.round(res.ms),
      unit: 'ms',
      target: `≤ ${Math.round(allowedMs * 1.2)} (1.2 × ${Math.round(allowedMs)} the budget allows)`,
      pass: res.ms <= allowedMs * 1.2,
    });
    await close(h);
  }

  // C. Steady state, no change, then change detection. ReadOnly=false lookup, delivery delay 5 min.
  const factor = 60;
  // (EventSource mode is not run: on a warped clock the CPU, not CloudTrail, would cap it. Its cost is
  // computed from the trail the quiet ReadOnly run leaves, which records our own reads too.)
  for (const attribute of ['ReadOnly'] as const) {
    const simulatedMs = 10 * MIN_MS;
    log(`steady state (${attribute}), ${simulatedMs / MIN_MS} virtual minutes at ×${factor}`);
    const sched = new WarpScheduler(factor);
    const h = await makeHarness({
      scheduler: sched,
      fraction: 0.25,
      lookupAttribute: attribute,
      deliveryDelayMs: 5 * MIN_MS,
    });
    const res = await initialList(h);
    const added = new Map<string, number>();
    const hinted = new Map<string, number>();
    const stop = runSteady(
      h,
      res.stores,
      res.cursors,
      (k) => added.set(k, sched.now()),
      (_i, k) => hinted.set(k, sched.now()),
    );
    h.emu.calls.reset();
    const lookupsBefore = h.r.feed.requests;
    const t0 = sched.now();
    await waitUntil(() => sched.now() - t0 >= simulatedMs, simulatedMs / factor + 30_000);
    const elapsed = sched.now() - t0;
    const perHour = (n: number): number => Math.round((n * 3_600_000) / elapsed);
    const byAction = h.emu.calls.byAction();
    const describes = Object.entries(byAction)
      .filter(([a]) => a.startsWith('Describe'))
      .reduce((a, [, n]) => a + n, 0);
    const lookups = h.r.feed.requests - lookupsBefore;
    if (attribute === 'ReadOnly') {
      // What each attribute must read per window (overlap 20 min + interval 1 min), from the trail
      // itself: matching events per virtual ms during the quiet period, scaled to one window.
      // Only delivered events count: stop the sample one delivery delay before now.
      const end = sched.now() - 5 * MIN_MS;
      const windowMs = 21 * MIN_MS;
      for (const [key, value, label] of [
        ['EventSource', 'ecs.amazonaws.com', 'EventSource=ecs'],
        ['ReadOnly', 'false', 'ReadOnly=false'],
      ] as const) {
        const events = Math.round(
          (h.emu.cloudTrail.count('us-east-1', key, value, t0, end) * windowMs) / (end - t0),
        );
        figures.push({
          metric: `LookupEvents requests needed per hour to keep up, ${label} (${events} events per 21-min window)`,
          value: Math.max(1, Math.ceil(events / 50)) * 60,
          unit: 'requests/h',
        });
      }
      figures.push(
        {
          metric: 'steady state, no change: Describe calls per hour',
          value: perHour(describes),
          unit: 'calls/h',
          target: '0',
          pass: describes === 0,
        },
        {
          metric: 'steady state, no change: ListTasks calls per hour (20 clusters, 5 s poll)',
          value: perHour(byAction['ListTasks'] ?? 0),
          unit: 'calls/h',
        },
        {
          metric: 'steady state, no change: ListClusters calls per hour',
          value: perHour(byAction['ListClusters'] ?? 0),
          unit: 'calls/h',
        },
        {
          metric: 'steady state, no change: all ECS + CloudTrail calls per hour',
          value: perHour(h.emu.calls.total()),
          unit: 'calls/h',
        },
      );
      notes.push(
        `Steady state simulated for ${Math.round(elapsed / 1000)} virtual s (clock ×${factor}, timers shortened alike) and extrapolated linearly to one hour; calls: ${JSON.stringify(byAction)}.`,
      );
      // Scheduler-only replacement: found by the cheap poll.
      const { started } = h.emu.fleet.replaceServiceTasks({
        cluster: 'cluster-3',
        service: 'svc-7',
        count: 1,
      });
      const tr = sched.now();
      const newArn = started[0] ?? '';
      await waitUntil(() => [...added.keys()].some((k) => k.endsWith(newArn)), 30_000);
      const detectedAt = [...added].find(([k]) => k.endsWith(newArn))?.[1];
      // One sweep = every ListTasks page of every cluster; at 25 % the budget allows `refill` calls a second.
      const sweepCalls = FLEET.clusters * ceil(FLEET.servicesPerCluster * FLEET.tasksPerService, 100);
      const sweepMs = (sweepCalls / (20 * 0.25)) * 1000;
      const intervalMs = h.r.tasks.cheapPoll.intervalMs;
      figures.push({
        metric: `time to detect a scheduler-only task replacement (poll ${intervalMs / 1000} s, sweep ${sweepCalls} ListTasks)`,
        value: detectedAt !== undefined ? Math.round(detectedAt - tr) : -1,
        unit: 'ms',
        target: `≤ ${Math.round(1.2 * (intervalMs + sweepMs))} (1.2 × (interval + one sweep the 25 % budget allows))`,
        pass: detectedAt !== undefined && detectedAt - tr <= 1.2 * (intervalMs + sweepMs),
      });
      // CloudTrail-visible change (delivery delay 5 min, window every 60 s).
      const td = h.emu.fleet.allTaskDefinitions()[0];
      const [task] = h.emu.fleet.runTask({ cluster: 'cluster-5', taskDefinition: td?.arn ?? '' });
      const tc = sched.now();
      await waitUntil(() => [...hinted.keys()].some((k) => k.endsWith(task?.arn ?? '-')), 60_000);
      const hintAt = [...hinted].find(([k]) => k.endsWith(task?.arn ?? '-'))?.[1];
      figures.push({
        metric: 'time to detect a CloudTrail-visible change (RunTask; delivery delay 5 min, poll 60 s)',
        value: hintAt !== undefined ? Math.round(hintAt - tc) : -1,
        unit: 'ms',
        target: '≤ 5 min delay + 60 s + paging',
        pass: hintAt !== undefined && hintAt - tc <= 7 * MIN_MS,
      });
    }
    figures.push({
      metric: 'LookupEvents requests per hour measured, ReadOnly=false',
      value: perHour(lookups),
      unit: 'requests/h',
    });
    const surfaced = await countApi(h.registry, 'error');
    if (surfaced > 0) notes.push(`${attribute}: ${surfaced} non-throttling API errors during the run.`);
    stop();
    await close(h);
  }
  return { name: 'AWS ECS adapter', figures, notes };
}
