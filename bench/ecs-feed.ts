/**
 * ECS pushed change feed benchmark (issue #14): 100,000 tasks (100 clusters × 50 services × 20
 * tasks) in the ECS emulator, the fleet publishing EventBridge events into the SQS emulator with
 * about 1 s delivery delay, 1 % duplicates and reordering; real SDK clients on loopback, the real
 * watch engine on every ECS source, budget 25 %.
 *
 * Figures, side by side: API calls per hour at steady state (no change) in pushed mode (SQS +
 * 10-min ListTasks reconciliation + CloudTrail) vs today's poll mode (CloudTrail + 5 s ListTasks
 * sweeps) vs a plain 60 s full poll (the minimal full list every minute, computed); detection
 * p50 / p99 of scheduler-started and stopped tasks in pushed mode; a dropped event found by the
 * reconciliation within its period (worst case: in the cluster the rotation has just listed, on a
 * clock warped ×10); RSS. Steady-state periods run on a clock warped ×60 and are extrapolated
 * linearly; detection runs on the real clock. Progress goes to stderr (BENCH_ECS_FEED_DEBUG: every
 * change, and every task poll of the dropped-event phase).
 */
import { pino } from 'pino';
import { Subscription } from 'rxjs';
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import type { BenchFigure, BenchSection } from './report.js';
import { startSqsEmulator } from '../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../adapters/aws/emulator/sqs.js';
import { CLOUDTRAIL_BUCKETS, SQS_BUCKETS } from '../adapters/aws/limits.js';
import { ecsSchema } from '../adapters/ecs/config.js';
import { EventBridgePublisher, startEcsEmulator } from '../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../adapters/ecs/emulator/index.js';
import { createEcsAdapter } from '../adapters/ecs/index.js';
import type { EcsAdapter } from '../adapters/ecs/index.js';
import { ECS_BUCKETS } from '../adapters/ecs/limits.js';
import { clusterId } from '../src/model/index.js';
import type { ClusterObject } from '../src/model/index.js';
import { MemoryCache } from '../src/provider/cache.js';
import { CoreMetrics, Registry } from '../src/runtime/metrics.js';
import { ApiBudget } from '../src/watch/budget.js';
import { WatchEngine } from '../src/watch/engine.js';
import { PartialPoll } from '../src/watch/source.js';

const FLEET = {
  clusters: Number(process.env['BENCH_ECS_FEED_CLUSTERS'] ?? 100),
  servicesPerCluster: 50,
  tasksPerService: 20,
  taskDefinitions: 100,
  containerInstancesPerCluster: 0,
};
const TASKS = FLEET.clusters * FLEET.servicesPerCluster * FLEET.tasksPerService;
const ACCOUNT = '123456789012';
const QUEUE = 'sightline-ecs-events';
const MIN_MS = 60_000;
const STEADY_FACTOR = 60;
const STEADY_MS = 25 * MIN_MS;
/**
 * The dropped-event phase's warp (BENCH_ECS_FEED_DROPPED_FACTOR): at ×60 every real millisecond of
 * CPU the reconciliation's ListTasks pages cost (SDK and emulator in this process) counts 60 virtual
 * ones, so on a loaded machine the polls, not the budget, pace the rotation; ×10 keeps the worst
 * case (a whole period) at 60 real seconds.
 */
const DROPPED_FACTOR = Number(process.env['BENCH_ECS_FEED_DROPPED_FACTOR'] ?? 10);
const EVENT_DELAY_MS = 1_000;
const DETECTION_CHANGES = Number(process.env['BENCH_ECS_FEED_CHANGES'] ?? 100);

const DEBUG = process.env['BENCH_ECS_FEED_DEBUG'] !== undefined;

const log = (msg: string): void => {
  process.stderr.write(`[bench ecs-feed] ${msg}\n`);
};

/**
 * Real timers, a virtual clock running `factor` times faster; the factor can change. A timer keeps
 * its virtual due time across a change of factor (re-armed at the new rate): a 5 s poll timer set
 * at ×1 must not wait 5 real seconds (300 virtual ones) after the switch to ×60.
 */
class WarpScheduler implements SchedulerLike {
  private baseMs = Date.UTC(2026, 11, 3, 12, 0, 0);
  private realBase = Date.now();
  /** Pending timers: each one's virtual due time, what it fires and its real timeout. */
  private readonly pending = new Set<WarpTimer>();
  constructor(private factor: number) {}
  setFactor(factor: number): void {
    this.baseMs = this.now();
    this.realBase = Date.now();
    this.factor = factor;
    for (const timer of this.pending) this.arm(timer);
  }
  now(): number {
    return this.baseMs + (Date.now() - this.realBase) * this.factor;
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
    const timer: WarpTimer = { dueMs: this.now() + delay, fire: () => work.call(action, state) };
    this.pending.add(timer);
    this.arm(timer);
    sub.add(() => {
      clearTimeout(timer.timeout);
      this.pending.delete(timer);
    });
    return sub;
  }
  /** (Re)starts a timer's real timeout for its virtual due time at the current factor. */
  private arm(timer: WarpTimer): void {
    clearTimeout(timer.timeout);
    timer.timeout = setTimeout(
      () => {
        this.pending.delete(timer);
        timer.fire();
      },
      Math.max(0, (timer.dueMs - this.now()) / this.factor),
    );
  }
}

interface WarpTimer {
  dueMs: number;
  fire: () => void;
  timeout?: ReturnType<typeof setTimeout>;
}

interface World {
  sched: WarpScheduler;
  ecs: EcsEmulator;
  sqs: SqsEmulator;
  events: EventBridgePublisher;
}

interface Watcher {
  adapter: EcsAdapter;
  engines: WatchEngine<ClusterObject>[];
  subs: Subscription[];
  /** Virtual time of each task's ADDED / DELETED, by task ARN. */
  seen: Map<string, number>;
  relists: number;
  registry: Registry;
  /** While set, called after each tasks poll (virtual start, ids of the clusters listed). */
  onTaskPoll?: (startedMs: number, clusters: readonly string[] | 'all') => void;
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startWorld(): Promise<World> {
  const sched = new WarpScheduler(STEADY_FACTOR);
  const ecs = await startEcsEmulator({
    now: () => sched.now(),
    throttling: { enabled: false },
    recordReadEvents: false,
  });
  ecs.fleet.generate(FLEET);
  const sqs = await startSqsEmulator({
    now: () => sched.now(),
    // A 20 s long poll lasts 20 virtual seconds.
    maxWaitMs: 20_000 / STEADY_FACTOR,
    knobs: { delayMs: EVENT_DELAY_MS, duplicateRate: 0.01, reorder: true },
  });
  sqs.createQueue(`${QUEUE}-dlq`);
  sqs.createQueue(QUEUE, {
    visibilityTimeoutMs: 60_000,
    maxReceiveCount: 5,
    deadLetterQueue: `${QUEUE}-dlq`,
  });
  const events = new EventBridgePublisher(ecs.fleet, sqs, { queue: QUEUE, now: () => sched.now() }).attach();
  return { sched, ecs, sqs, events };
}

async function startWatcher(w: World, pushed: boolean): Promise<Watcher> {
  const queueUrl = w.sqs.queue(QUEUE)?.url ?? '';
  const config = ecsSchema.parse({
    account: ACCOUNT,
    regions: ['us-east-1'],
    credentials: { source: 'static', accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
    endpoints: { ecs: w.ecs.endpoint, cloudtrail: w.ecs.endpoint, sqs: w.sqs.endpoint },
    ...(pushed ? { changeFeed: { source: 'sqs', queueUrl } } : {}),
  });
  const registry = new Registry();
  const adapter = createEcsAdapter(config, {
    logger: pino({ level: 'silent' }),
    metrics: new CoreMetrics(registry),
    budget: new ApiBudget({ ...ECS_BUCKETS, ...CLOUDTRAIL_BUCKETS, ...SQS_BUCKETS }, 0.25, w.sched),
    scheduler: w.sched,
    cache: new MemoryCache(),
    tenant: { group: 'bench', issuer: 'https://issuer.example.com' },
    agentVersion: 'bench',
    clusterPollIntervalMs: config.taskPollIntervalMs,
  });
  const watcher: Watcher = { adapter, engines: [], subs: [], seen: new Map(), relists: 0, registry };
  for (const source of await adapter.sources()) {
    const cheap = source.cheapPoll;
    if (cheap !== undefined && source.id.endsWith('/tasks')) {
      const poll = cheap.poll.bind(cheap);
      cheap.poll = async () => {
        const startedMs = w.sched.now();
        const tokens = await poll();
        watcher.onTaskPoll?.(startedMs, tokens instanceof PartialPoll ? tokens.scope.values : 'all');
        return tokens;
      };
    }
    const engine = new WatchEngine(source, { scheduler: w.sched });
    watcher.subs.push(
      engine.events$.subscribe((e) => {
        if ((e.type === 'ADDED' || e.type === 'DELETED') && e.key.includes(':task/'))
          watcher.seen.set(e.key.slice(e.key.indexOf('arn:')), w.sched.now());
        // As the daemon after its outbox write.
        if ((e.type === 'BOOKMARK' || (e.type === 'RELIST' && e.phase === 'done')) && e.cursor)
          source.durable?.(e.cursor);
      }),
    );
    watcher.engines.push(engine);
    engine.start();
  }
  await waitUntil(() => watcher.engines.every((e) => e.synced), 600_000);
  return watcher;
}

async function stopWatcher(x: Watcher): Promise<void> {
  for (const s of x.subs) s.unsubscribe();
  for (const e of x.engines) await e.stop();
  await x.adapter.close();
}

/** Calls per hour over a quiet period of `STEADY_MS` virtual ms. */
async function steadyCallsPerHour(
  w: World,
): Promise<{ ecs: Record<string, number>; sqs: number; total: number }> {
  w.sched.setFactor(STEADY_FACTOR);
  w.ecs.calls.reset();
  w.sqs.calls.reset();
  const t0 = w.sched.now();
  await waitUntil(() => w.sched.now() - t0 >= STEADY_MS, STEADY_MS / STEADY_FACTOR + 120_000);
  const elapsed = w.sched.now() - t0;
  const perHour = (n: number): number => Math.round((n * 3_600_000) / elapsed);
  const ecs = Object.fromEntries(Object.entries(w.ecs.calls.byAction()).map(([a, n]) => [a, perHour(n)]));
  const sqs = perHour(w.sqs.calls.total());
  return { ecs, sqs, total: perHour(w.ecs.calls.total()) + sqs };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return -1;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? -1;
}

/** The minimal full list (what a 60 s full poll does every minute). */
function fullPollPerHour(): number {
  const c = FLEET.clusters;
  const services = c * FLEET.servicesPerCluster;
  const perCluster = Math.ceil((FLEET.servicesPerCluster * FLEET.tasksPerService) / 100);
  const perList =
    1 + // ListClusters
    Math.ceil(c / 100) + // DescribeClusters
    c * Math.ceil(FLEET.servicesPerCluster / 100) + // ListServices
    Math.ceil(services / 10) + // DescribeServices
    c * perCluster * 2 + // ListTasks + DescribeTasks
    c; // ListContainerInstances
  return perList * 60;
}

export async function run(): Promise<BenchSection> {
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  log(`fleet of ${TASKS} tasks`);
  const w = await startWorld();

  // Pushed mode.
  log('pushed mode: initial list');
  const pushed = await startWatcher(w, true);
  log('pushed mode: steady state');
  const pushedSteady = await steadyCallsPerHour(w);
  log(
    `  ${pushedSteady.total} calls/h, relists ${pushed.relists}, fallback ${pushed.adapter.regions()[0]?.queue?.fallback}, receives ${w.sqs.calls.get('ReceiveMessage')}, queued ${w.sqs.queue(QUEUE)?.messages.length}, seen ${pushed.seen.size}`,
  );
  const rss = process.memoryUsage().rss;

  // Detection on the real clock: scheduler-started and stopped tasks, events ~1 s late.
  log('pushed mode: detection');
  w.sched.setFactor(1);
  const latencies: number[] = [];
  const c = w.ecs.fleet.clustersIn('us-east-1');
  for (let i = 0; i < DETECTION_CHANGES / 2; i++) {
    const cluster = c[i % c.length];
    if (!cluster) continue;
    const service = `svc-${i % FLEET.servicesPerCluster}`;
    const changedAt = w.sched.now();
    const { stopped, started } = w.ecs.fleet.replaceServiceTasks({
      cluster: cluster.name,
      service,
      count: 1,
    });
    const arns = [...stopped, ...started];
    const detected = (arn: string): boolean => (pushed.seen.get(arn) ?? -Infinity) >= changedAt;
    await waitUntil(() => arns.every(detected), 20_000).catch(() => undefined);
    for (const arn of arns)
      latencies.push(detected(arn) ? (pushed.seen.get(arn) ?? 0) - changedAt : Infinity);
    if (i % 10 === 9 || DEBUG)
      log(
        `  ${i + 1} changes, last ${Math.round(latencies.at(-1) ?? -1)} ms, relists ${pushed.relists}, fallback ${pushed.adapter.regions()[0]?.queue?.fallback}, receives ${w.sqs.calls.get('ReceiveMessage')}, queued ${w.sqs.queue(QUEUE)?.messages.length}, published ${w.events.published}`,
      );
  }
  latencies.sort((a, b) => a - b);
  const missed = latencies.filter((l) => !Number.isFinite(l)).length;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);

  // A dropped event, caught by the reconciliation within its period (warped clock again). The
  // worst case: the change is in the cluster the rotation has just listed, so it waits a whole
  // period for that cluster's next turn.
  log(`pushed mode: a dropped event (×${DROPPED_FACTOR})`);
  w.sched.setFactor(DROPPED_FACTOR);
  const names = new Map(c.map((x) => [clusterId('ECS', x.arn), x.name]));
  let justListed: string | undefined;
  pushed.onTaskPoll = (_startedMs, clusters) => {
    if (clusters !== 'all' && clusters.length > 0) justListed = clusters.at(-1);
  };
  await waitUntil(() => justListed !== undefined, 120_000);
  const lostClusterId = justListed ?? '';
  const lostCluster = names.get(lostClusterId) ?? '';
  w.sqs.knobs.lossRate = 1;
  const lostAt = w.sched.now();
  pushed.onTaskPoll = (startedMs, clusters) => {
    if (!DEBUG) return;
    const listed = clusters === 'all' ? 'all' : clusters.map((id) => names.get(id) ?? id).join(' ');
    const mark = clusters === 'all' || clusters.includes(lostClusterId) ? ' (the dropped event)' : '';
    log(
      `  task poll at +${Math.round((startedMs - lostAt) / 1000)} s, took ${Math.round((w.sched.now() - startedMs) / 1000)} s (virtual), listed ${listed}${mark}`,
    );
  };
  const lost =
    w.ecs.fleet.replaceServiceTasks({ cluster: lostCluster, service: 'svc-1', count: 1 }).started[0] ?? '-';
  w.sqs.knobs.lossRate = 0;
  await waitUntil(
    () => [...pushed.seen.keys()].some((k) => k.endsWith(lost)),
    (12 * MIN_MS) / DROPPED_FACTOR + 120_000,
  ).catch(() => undefined);
  const lostKey = [...pushed.seen.keys()].find((k) => k.endsWith(lost));
  const lostFoundMs = lostKey !== undefined ? (pushed.seen.get(lostKey) ?? lostAt) - lostAt : -1;
  delete pushed.onTaskPoll;
  await stopWatcher(pushed);

  // Today's poll mode on the same fleet.
  log('poll mode: initial list');
  w.events.detach();
  const poll = await startWatcher(w, false);
  log('poll mode: steady state');
  const pollSteady = await steadyCallsPerHour(w);
  await stopWatcher(poll);
  await w.sqs.stop();
  await w.ecs.stop();

  const full = fullPollPerHour();
  figures.push(
    {
      metric: `pushed mode: API calls per hour at steady state (${TASKS} tasks; ECS + CloudTrail + SQS)`,
      value: pushedSteady.total,
      unit: 'calls/h',
      target: `≤ ${Math.round(full / 10)} (10× fewer than the 60 s full poll)`,
      pass: pushedSteady.total * 10 <= full,
    },
    { metric: 'pushed mode: of which SQS calls per hour', value: pushedSteady.sqs, unit: 'calls/h' },
    {
      metric: 'pushed mode: ListTasks calls per hour (reconciliation every 10 min only)',
      value: pushedSteady.ecs['ListTasks'] ?? 0,
      unit: 'calls/h',
    },
    {
      metric: 'poll mode: API calls per hour at steady state (CloudTrail + 5 s ListTasks sweeps)',
      value: pollSteady.total,
      unit: 'calls/h',
    },
    {
      metric: '60 s full poll: API calls per hour (minimal full list every minute, computed)',
      value: full,
      unit: 'calls/h',
    },
    {
      metric: 'pushed mode: fewer calls than the 60 s full poll',
      value: Math.round((full / Math.max(1, pushedSteady.total)) * 10) / 10,
      unit: '×',
      target: '≥ 10',
      pass: full >= 10 * pushedSteady.total,
    },
    {
      metric: `pushed mode: detection p50, task started/stopped by the scheduler (${latencies.length} changes, event delay ${EVENT_DELAY_MS} ms, 1 % duplicates, reordering)`,
      value: Math.round(p50),
      unit: 'ms',
    },
    {
      metric: 'pushed mode: detection p99',
      value: Math.round(p99),
      unit: 'ms',
      target: '≤ 5000',
      pass: p99 <= 5000,
    },
    {
      metric: 'pushed mode: changes not detected',
      value: missed,
      unit: 'changes',
      target: '0',
      pass: missed === 0,
    },
    {
      metric: `pushed mode: a dropped event found by the reconciliation after (worst case: in the cluster it had just listed; clock ×${DROPPED_FACTOR})`,
      value: Math.round(lostFoundMs),
      unit: 'ms',
      target: '≤ 600000 + one sweep (reconcile every 10 min)',
      pass: lostFoundMs >= 0 && lostFoundMs <= 12 * MIN_MS,
    },
    {
      // The emulated account (100,000 tasks, their ARNs and pages) lives in this process too, so
      // the watcher's ≤ 300 MB is not this figure: `-- pushed-daemon` measures the watcher alone.
      metric:
        'RSS of this process (the watcher and the emulated account) after the pushed-mode steady state (for reference)',
      value: Math.round(rss / 1048576),
      unit: 'MB',
    },
  );
  notes.push(
    `Steady state: ${STEADY_MS / MIN_MS} virtual minutes at ×${STEADY_FACTOR}, extrapolated to one hour. Pushed-mode ECS calls/h by action: ${JSON.stringify(pushedSteady.ecs)}; poll mode: ${JSON.stringify(pollSteady.ecs)}.`,
    'Detection is measured from the fleet change to the engine event on the real clock; the SQS emulator delivers each event 1 s after it is published.',
  );
  return { name: 'AWS ECS pushed change feed (EventBridge -> SQS)', figures, notes };
}
