/**
 * Pushed change events end to end (issue #14, "Must show"): the real daemon (`sightline run`, its
 * own process, the Docker image's ENV) watching 100,000 ECS tasks + 5,000 Cloud Run revisions
 * (bench/scale-fleet.ts) through both pushed feeds (EventBridge → SQS, Log Router sink →
 * Pub/Sub), with the emulators' delivery delay at 1 s, 1 % duplicates and reordering on; then the
 * same daemon in today's poll mode (CloudTrail + ListTasks sweeps, the audit tail); then the 60 s
 * full poll (one `once` inventory measured, its calls × 60 per hour). The emulators, the reference
 * console and this bench share one process; the watcher's RSS is its own (/proc/<pid>/status VmRSS,
 * sampled every second).
 *
 * Figures, side by side: API calls per hour at steady state as the emulators count them (ECS +
 * CloudTrail + SQS, Cloud Run + Logging + Pub/Sub), detection p50 / p99 per change type (ECS task
 * started / stopped by the scheduler, Cloud Run revision rolled out: change → row in the console's
 * database), changes not detected, a dropped event per provider (the emulator loses it) and when the
 * reconciliation found it, and the watcher's RSS (mean and max of the samples, VmHWM). Everything
 * runs on the real clock (a child process cannot share a warped one); steady-state calls and RSS
 * are taken over `STEADY_WINDOW_MS`, from `STEADY_SETTLE_MS` after the first list, and calls are
 * extrapolated to one hour. The full poll's detection is computed
 * from its measured duration (a change waits on average half an interval, at worst a whole one).
 * BENCH_PUSHED_SMOKE=1 runs a 1/20 fleet with 60 s reconciliation and short windows (to try it out).
 * Progress goes to stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startSqsEmulator } from '../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../adapters/aws/emulator/sqs.js';
import { startCloudRunEmulator } from '../adapters/cloudrun/emulator/index.js';
import type { CloudRunEmulator } from '../adapters/cloudrun/emulator/index.js';
import { EventBridgePublisher, startEcsEmulator } from '../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../adapters/ecs/emulator/index.js';
import { startReferenceConsole } from '../src/console/index.js';
import { loadConfigFile } from '../src/config/load.js';
import { inventoryOnce } from '../src/daemon/once.js';
import { createLogger } from '../src/runtime/logger.js';
import { createRegistry } from '../src/runtime/metrics.js';
import { seeded } from './cloudrun-pushed.js';
import type { BenchFigure, BenchSection } from './report.js';
import {
  scaleEcsFleet,
  scaleProject,
  scaleRegions,
  scaleServicesPerRegion,
  seedScaleFleet,
} from './scale-fleet.js';
import {
  RssSampler,
  WatcherProcess,
  metricSum,
  percentile,
  sleep,
  watcherNodeOptions,
} from './watcher-process.js';

const SMOKE = process.env['BENCH_PUSHED_SMOKE'] === '1';
const SCALE_DIVISOR = SMOKE ? 20 : 1;
const SERVICES_PER_REGION = Math.ceil(scaleServicesPerRegion / SCALE_DIVISOR);
const ACCOUNT = '111122223333';
const AWS_REGION = 'us-east-1';
const TOKEN = 'bench-token';
const KEYS = { BENCH_AWS_KEY: 'AKIDBENCH', BENCH_AWS_SECRET: 'bench-secret' };
const QUEUE = 'sightline-ecs-events';
const TOPIC = `projects/${scaleProject}/topics/run-audit`;
const SUBSCRIPTION = `projects/${scaleProject}/subscriptions/sightline`;
const EVENT_DELAY_MS = 1_000;
const DUPLICATE_RATE = 0.01;
const REORDER_RATE = 0.01;
const RSS_SAMPLE_EVERY_MS = 1_000;
const STEADY_WINDOW_MS = SMOKE ? 30_000 : 180_000;
/**
 * The steady state starts this long after the first list is in: the list's garbage (40–50 MB of
 * heap at this size) is collected within seconds, and that transition is reported on its own (the
 * whole run's maximum and VmHWM), not as the steady state's.
 */
const STEADY_SETTLE_MS = SMOKE ? 5_000 : 30_000;
/** BENCH_PUSHED_SKIP_POLL=1 leaves today's poll mode out (it adds about 10 minutes at full size). */
const SKIP_POLL = process.env['BENCH_PUSHED_SKIP_POLL'] === '1';
const POLL_STEADY_WINDOW_MS = SMOKE ? 30_000 : 120_000;
const FULL_POLL_INTERVAL_MS = 60_000;
/** Pushed mode: changes of each type, one every CHANGE_EVERY_MS, each given DETECT_WITHIN_MS. */
const PUSHED_CHANGES = SMOKE ? 6 : 30;
const POLL_CHANGES = SMOKE ? 3 : 5;
const CHANGE_EVERY_MS = 500;
const PUSHED_DETECT_WITHIN_MS = 30_000;
const POLL_DETECT_WITHIN_MS = 240_000;
/** The reconciliation periods the pushed mode runs with (defaults: ECS 10 min, Cloud Run 5 min). */
const ECS_RECONCILE_MS = SMOKE ? 60_000 : 600_000;
const CLOUDRUN_LIVE_POLL_MS = SMOKE ? 60_000 : 300_000;
/** How long after the drop the bench waits for the reconciliation (a period and a sweep). */
const DROP_WAIT_MS = ECS_RECONCILE_MS + 120_000;
const HOUR_MS = 3_600_000;
/** How long the emulators lose every event around the dropped changes. */
const DROP_WINDOW_MS = 500;

const log = (msg: string): void => {
  process.stderr.write(`[bench pushed-daemon] ${msg}\n`);
};

interface World {
  dir: string;
  cr: CloudRunEmulator;
  ecs: EcsEmulator;
  sqs: SqsEmulator;
  events: EventBridgePublisher;
  consoleDb: string;
  queueUrl: string;
  consolePort: number;
  stop(): Promise<void>;
}

type ChangeType = 'ECS task started' | 'ECS task stopped' | 'Cloud Run revision rolled out';
const CHANGE_TYPES: ChangeType[] = ['ECS task started', 'ECS task stopped', 'Cloud Run revision rolled out'];

interface Change {
  type: ChangeType;
  /** ECS: the task ARN (the console's uid); Cloud Run: the revision name. */
  id: string;
  t0: number;
}

/** Answers whether the console shows a change, from its database (read only). */
class ConsoleView {
  private readonly db: Database.Database;
  private readonly live: Database.Statement<[string]>;
  private readonly gone: Database.Statement<[string]>;
  private readonly named: Database.Statement<[string]>;
  private readonly count: Database.Statement<[]>;

  constructor(file: string) {
    // The console keys workloads by (cluster, uid): without these indexes every lookup scans 110,000
    // rows, and the synchronous scans starved the emulators in this process (the first full run's
    // watcher then saw slow SQS, Pub/Sub and console calls, and its memory grew past 1 GB).
    const admin = new Database(file, { fileMustExist: true });
    admin.exec('CREATE INDEX IF NOT EXISTS bench_workloads_uid ON workloads (uid)');
    admin.exec('CREATE INDEX IF NOT EXISTS bench_workloads_name ON workloads (name)');
    admin.close();
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.live = this.db.prepare('SELECT 1 FROM workloads WHERE uid = ? AND deleted_ms IS NULL');
    this.gone = this.db.prepare('SELECT 1 FROM workloads WHERE uid = ? AND deleted_ms IS NOT NULL');
    this.named = this.db.prepare('SELECT 1 FROM workloads WHERE name = ? AND deleted_ms IS NULL');
    this.count = this.db.prepare('SELECT count(*) AS n FROM workloads WHERE deleted_ms IS NULL');
  }

  shows(c: Change): boolean {
    if (c.type === 'ECS task started') return this.live.get(c.id) !== undefined;
    if (c.type === 'ECS task stopped') return this.gone.get(c.id) !== undefined;
    return this.named.get(c.id) !== undefined;
  }

  workloads(): number {
    return (this.count.get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

async function startWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'sightline-bench-pushed-'));
  const scale = SCALE_DIVISOR;
  log(
    `seeding ${(100_000 / scale).toLocaleString('en-US')} ECS tasks and ${5_000 / scale} Cloud Run revisions`,
  );
  const cr = await startCloudRunEmulator({
    projects: { [scaleProject]: scaleRegions },
    logSink: { topic: TOPIC, subscription: SUBSCRIPTION, ackDeadlineS: 60, random: seeded(14) },
  });
  const ecs = await startEcsEmulator({
    account: ACCOUNT,
    region: AWS_REGION,
    throttling: { enabled: false },
    recordReadEvents: false,
  });
  const sqs = await startSqsEmulator({
    account: ACCOUNT,
    region: AWS_REGION,
    random: seeded(15),
    knobs: { delayMs: EVENT_DELAY_MS, duplicateRate: DUPLICATE_RATE, reorder: true },
  });
  sqs.createQueue(`${QUEUE}-dlq`);
  const queueUrl = sqs.createQueue(QUEUE, {
    visibilityTimeoutMs: 60_000,
    maxReceiveCount: 5,
    deadLetterQueue: `${QUEUE}-dlq`,
  }).url;
  seedScaleFleet(cr, ecs, scale);
  const broker = cr.pubsub;
  if (!broker) throw new Error('no Pub/Sub broker');
  broker.knobs.delayMs = EVENT_DELAY_MS;
  broker.knobs.duplicateRate = DUPLICATE_RATE;
  broker.knobs.reorderRate = REORDER_RATE;
  const events = new EventBridgePublisher(ecs.fleet, sqs, { queue: QUEUE }).attach();
  const consoleDb = join(dir, 'console.db');
  const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: consoleDb, token: TOKEN });
  writeFileSync(join(dir, 'token'), TOKEN);
  return {
    dir,
    cr,
    ecs,
    sqs,
    events,
    consoleDb,
    queueUrl,
    consolePort: console_.port,
    stop: async () => {
      await console_.stop();
      await Promise.all([cr.stop(), ecs.stop(), sqs.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function writeConfig(w: World, mode: 'pushed' | 'poll'): string {
  const pushed = mode === 'pushed';
  const file = join(w.dir, `config-${mode}.yaml`);
  writeFileSync(
    file,
    `tenant: { group: bench, issuer: "https://issuer.bench.invalid" }
providers:
  cloudRun:
    projects: [${scaleProject}]
    regions: [${scaleRegions.join(', ')}]
    credentials: { source: none }
    endpoints: { run: "127.0.0.1:${w.cr.runEndpoint.port}", logging: "127.0.0.1:${w.cr.loggingEndpoint.port}", runV1: "${w.cr.runV1BaseUrl}"${pushed ? `, pubsub: "127.0.0.1:${w.cr.pubsubEndpoint?.port ?? 0}"` : ''}, insecure: true }
${pushed ? `    changeFeed: { source: pubsub, subscription: "${SUBSCRIPTION}" }\n    livePollIntervalMs: ${CLOUDRUN_LIVE_POLL_MS}\n` : ''}  ecs:
    account: "${ACCOUNT}"
    regions: [${AWS_REGION}]
    credentials: { source: static, accessKeyId: "\${BENCH_AWS_KEY}", secretAccessKey: "\${BENCH_AWS_SECRET}" }
    endpoints: { ecs: "${w.ecs.endpoint}", cloudtrail: "${w.ecs.endpoint}"${pushed ? `, sqs: "${w.sqs.endpoint}"` : ''} }
${pushed ? `    changeFeed: { source: sqs, queueUrl: "${w.queueUrl}", reconcileIntervalMs: ${ECS_RECONCILE_MS} }\n` : ''}budget: { fraction: 1 }
console: { address: "127.0.0.1:${w.consolePort}", tls: { mode: plaintext }, tokenFile: "${join(w.dir, 'token')}" }
stateDir: "${join(w.dir, `state-${mode}`)}"
http: { listen: "127.0.0.1:0" }
log: { level: warn }
`,
  );
  return file;
}

/** Calls the emulators served, by provider, since `reset`. */
function callCounts(w: World): { ecs: number; sqs: number; cloudRun: number; listTasks: number } {
  return {
    ecs: w.ecs.calls.total(),
    sqs: w.sqs.calls.total(),
    cloudRun: w.cr.calls.count(),
    listTasks: w.ecs.calls.byAction()['ListTasks'] ?? 0,
  };
}

function resetCalls(w: World): void {
  w.ecs.calls.reset();
  w.sqs.calls.reset();
  w.cr.calls.reset();
}

/** Steady state: calls per hour over `windowMs` with no change. */
async function steadyCallsPerHour(
  w: World,
  watcher: WatcherProcess,
  windowMs: number,
): Promise<{
  ecs: number;
  sqs: number;
  cloudRun: number;
  listTasks: number;
  total: number;
  cpuSPerHour: number;
}> {
  const cpu0 = metricSum(await watcher.metricsText(), 'sightline_process_cpu_seconds_total');
  resetCalls(w);
  const t0 = Date.now();
  await sleep(windowMs);
  const c = callCounts(w);
  const elapsed = Date.now() - t0;
  const cpu1 = metricSum(await watcher.metricsText(), 'sightline_process_cpu_seconds_total');
  const perHour = (n: number): number => Math.round((n * HOUR_MS) / elapsed);
  return {
    ecs: perHour(c.ecs),
    sqs: perHour(c.sqs),
    cloudRun: perHour(c.cloudRun),
    listTasks: perHour(c.listTasks),
    total: perHour(c.ecs + c.sqs + c.cloudRun),
    cpuSPerHour: Math.round(((cpu1 - cpu0) * HOUR_MS) / elapsed),
  };
}

/** Makes one change of `type` (number `i`) and says what the console will show. */
function change(w: World, type: ChangeType, i: number): Change[] {
  const t0 = Date.now();
  if (type === 'Cloud Run revision rolled out') {
    const region = scaleRegions[i % scaleRegions.length] ?? 'us-central1';
    const name = `svc-${Math.floor(i / scaleRegions.length) % SERVICES_PER_REGION}`;
    const r = w.cr.fleet.rollService(
      scaleProject,
      region,
      name,
      `us-docker.pkg.dev/${scaleProject}/app/${name}:${3 + i}-${Date.now()}`,
    );
    return [{ type, id: r.revisionShort, t0 }];
  }
  const clusters = w.ecs.fleet.clustersIn(AWS_REGION);
  const cluster = clusters[i % clusters.length];
  if (!cluster) return [];
  const r = w.ecs.fleet.replaceServiceTasks({
    cluster: cluster.name,
    service: `svc-${(i * 7) % scaleEcsFleet.servicesPerCluster}`,
    count: 1,
  });
  return [
    ...r.started.map((id) => ({ type: 'ECS task started' as const, id, t0 })),
    ...r.stopped.map((id) => ({ type: 'ECS task stopped' as const, id, t0 })),
  ];
}

interface Detection {
  latenciesMs: Map<ChangeType, number[]>;
  missed: number;
}

/** `n` changes of every provider, one every CHANGE_EVERY_MS; each waited for up to `withinMs`. */
async function detect(
  w: World,
  watcher: WatcherProcess,
  view: ConsoleView,
  n: number,
  withinMs: number,
  offset: number,
): Promise<Detection> {
  const latenciesMs = new Map<ChangeType, number[]>(CHANGE_TYPES.map((t) => [t, []]));
  const pending: Change[] = [];
  const check = (): void => {
    if (!watcher.alive) throw new Error('the watcher died while changes were detected');
    for (let k = pending.length - 1; k >= 0; k--) {
      const c = pending[k];
      if (c && view.shows(c)) {
        latenciesMs.get(c.type)?.push(Date.now() - c.t0);
        pending.splice(k, 1);
      }
    }
  };
  for (let i = 0; i < n; i++) {
    pending.push(...change(w, 'ECS task started', offset + i));
    pending.push(...change(w, 'Cloud Run revision rolled out', offset + i));
    const next = Date.now() + CHANGE_EVERY_MS;
    while (Date.now() < next) {
      check();
      await sleep(20);
    }
  }
  // A message held back for reordering goes out with the next publish; after the last, release it.
  await sleep(EVENT_DELAY_MS);
  w.cr.pubsub?.flushHeld();
  const deadline = Date.now() + withinMs;
  while (pending.length > 0 && Date.now() < deadline) {
    check();
    await sleep(20);
  }
  return { latenciesMs, missed: pending.length };
}

function heapUsedMb(metrics: string): number {
  return metricSum(metrics, 'sightline_nodejs_heap_size_used_bytes') / 1_048_576;
}

function detectionFigures(mode: string, d: Detection, targetMs?: number): BenchFigure[] {
  const out: BenchFigure[] = [];
  for (const [type, l] of d.latenciesMs) {
    out.push({
      metric: `${mode}: detection p50, ${type} (${l.length} changes)`,
      value: percentile(l, 50) / 1000,
      unit: 's',
    });
    const p99 = percentile(l, 99);
    out.push({
      metric: `${mode}: detection p99, ${type}`,
      value: p99 / 1000,
      unit: 's',
      ...(targetMs !== undefined ? { target: `≤ ${targetMs / 1000}`, pass: p99 <= targetMs } : {}),
    });
  }
  return out;
}

export async function run(): Promise<BenchSection> {
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  const w = await startWorld();
  const view = new ConsoleView(w.consoleDb);
  try {
    // Pushed mode.
    const started = Date.now();
    const pushed = WatcherProcess.spawn(writeConfig(w, 'pushed'), KEYS, log);
    const pushedRss = new RssSampler(pushed, RSS_SAMPLE_EVERY_MS);
    let steadyRss: RssSampler | undefined;
    try {
      log(`pushed mode: watcher pid ${pushed.pid}, waiting for the first list`);
      await pushed.waitReady(900_000);
      const readyMs = Date.now() - started;
      const expected = SMOKE ? 5_000 : 105_000;
      while (view.workloads() < expected) {
        if (Date.now() - started > 1_200_000)
          throw new Error(`console has ${view.workloads()} workloads after 20 min`);
        await sleep(1_000);
      }
      log(
        `pushed mode: ready after ${(readyMs / 1000).toFixed(1)} s, console full after ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      figures.push({
        metric: 'pushed mode: time to ready (first list of every source)',
        value: readyMs / 1000,
        unit: 's',
      });

      // A dropped event per provider: the emulators lose it; the reconciliation must find it.
      // Both emulators lose everything for a moment: the changes' own events and the entries the
      // fleet writes right after (a revision becoming ready is written a tick later).
      const dropAt = Date.now();
      const broker = w.cr.pubsub;
      w.sqs.knobs.lossRate = 1;
      if (broker) broker.knobs.lossRate = 1;
      const ecsDropped = change(w, 'ECS task started', 1_000);
      const crDropped = change(w, 'Cloud Run revision rolled out', 1_000);
      await sleep(DROP_WINDOW_MS);
      w.sqs.knobs.lossRate = 0;
      if (broker) broker.knobs.lossRate = 0;
      const dropped = [...ecsDropped, ...crDropped];
      const foundAfterMs = new Map<Change, number>();
      const watchDropped = setInterval(() => {
        for (const c of dropped)
          if (!foundAfterMs.has(c) && view.shows(c)) foundAfterMs.set(c, Date.now() - dropAt);
      }, 200);

      await sleep(STEADY_SETTLE_MS);
      log(`pushed mode: steady state for ${STEADY_WINDOW_MS / 1000} s`);
      steadyRss = new RssSampler(pushed, RSS_SAMPLE_EVERY_MS);
      const heapSteadyMb = heapUsedMb(await pushed.metricsText());
      const pushedSteady = await steadyCallsPerHour(w, pushed, STEADY_WINDOW_MS);
      const rss = steadyRss.stop();
      log(
        `pushed mode: ${pushedSteady.total} calls/h; RSS mean ${rss.meanMb.toFixed(0)} MB, max ${rss.maxMb.toFixed(0)} MB`,
      );

      log(`pushed mode: detection, ${PUSHED_CHANGES} changes of each provider`);
      const pushedDetect = await detect(w, pushed, view, PUSHED_CHANGES, PUSHED_DETECT_WITHIN_MS, 0);
      for (const [type, l] of pushedDetect.latenciesMs)
        log(`  ${type}: p50 ${percentile(l, 50)} ms, p99 ${percentile(l, 99)} ms (${l.length})`);
      log(
        `pushed mode: missed ${pushedDetect.missed}; waiting for the dropped events (up to ${DROP_WAIT_MS / 1000} s after the drop)`,
      );
      while (foundAfterMs.size < dropped.length && Date.now() - dropAt < DROP_WAIT_MS) {
        if (!pushed.alive) throw new Error('the watcher died while the dropped events were awaited');
        await sleep(1_000);
      }
      const heapEndMb = heapUsedMb(await pushed.metricsText());
      clearInterval(watchDropped);
      const all = pushedRss.stop();
      log(
        `pushed mode: dropped events found after ${[...foundAfterMs.values()].join(', ')} ms; RSS max ${all.maxMb.toFixed(0)} MB`,
      );
      const peak = pushed.peakRssMb();
      const ecsFound = ecsDropped.map((c) => foundAfterMs.get(c) ?? Number.POSITIVE_INFINITY);
      const crFound = crDropped.map((c) => foundAfterMs.get(c) ?? Number.POSITIVE_INFINITY);

      figures.push(
        {
          metric: 'pushed mode: API calls per hour at steady state (all providers)',
          value: pushedSteady.total,
          unit: 'calls/h',
        },
        { metric: 'pushed mode: ECS + CloudTrail calls per hour', value: pushedSteady.ecs, unit: 'calls/h' },
        {
          metric: `pushed mode: of which ListTasks (reconciliation, every cluster once per ${ECS_RECONCILE_MS / 60_000} min)`,
          value: pushedSteady.listTasks,
          unit: 'calls/h',
        },
        { metric: 'pushed mode: SQS calls per hour', value: pushedSteady.sqs, unit: 'calls/h' },
        {
          metric: 'pushed mode: Cloud Run + Logging + Pub/Sub calls per hour',
          value: pushedSteady.cloudRun,
          unit: 'calls/h',
        },
        ...detectionFigures('pushed mode', pushedDetect, 5_000),
        {
          metric: `pushed mode: changes not detected within ${PUSHED_DETECT_WITHIN_MS / 1000} s (events lost)`,
          value: pushedDetect.missed,
          unit: 'changes',
          target: '0',
          pass: pushedDetect.missed === 0,
        },
        {
          metric: `pushed mode: a dropped ECS event (task started) found by the reconciliation after`,
          value: Math.max(...ecsFound) / 1000,
          unit: 's',
          target: `≤ ${ECS_RECONCILE_MS / 1000} (its period)`,
          pass: Math.max(...ecsFound) <= ECS_RECONCILE_MS,
        },
        {
          metric: 'pushed mode: a dropped Cloud Run entry (revision rolled out) found by the live poll after',
          value: Math.max(...crFound) / 1000,
          unit: 's',
          target: `≤ ${CLOUDRUN_LIVE_POLL_MS / 1000} (its period)`,
          pass: Math.max(...crFound) <= CLOUDRUN_LIVE_POLL_MS,
        },
        {
          metric: `watcher RSS at steady state (from ${STEADY_SETTLE_MS / 1000} s after the first list), max of ${rss.samples} samples (1/s)`,
          value: Math.round(rss.maxMb),
          unit: 'MB',
          target: '≤ 300',
          pass: rss.maxMb <= 300,
        },
        { metric: 'watcher RSS at steady state, mean', value: Math.round(rss.meanMb), unit: 'MB' },
        {
          metric: `watcher RSS over the whole pushed run (first list, changes), max of ${all.samples} samples`,
          value: Math.round(all.maxMb),
          unit: 'MB',
        },
        { metric: 'watcher RSS over the whole pushed run, mean', value: Math.round(all.meanMb), unit: 'MB' },
        ...(peak !== undefined
          ? [{ metric: 'watcher peak RSS since start (VmHWM)', value: Math.round(peak), unit: 'MB' }]
          : []),
        {
          metric: 'watcher V8 heap used at the start of the steady state',
          value: Math.round(heapSteadyMb),
          unit: 'MB',
        },
        {
          metric: 'watcher V8 heap used at the end of the pushed run',
          value: Math.round(heapEndMb),
          unit: 'MB',
        },
        {
          metric: 'pushed mode: watcher CPU at steady state',
          value: pushedSteady.cpuSPerHour,
          unit: 'CPU s / hour',
        },
      );
      notes.push(
        `Pushed: EventBridge → SQS and the Log Router sink → Pub/Sub deliver each event ${EVENT_DELAY_MS} ms late, ${DUPLICATE_RATE * 100} % twice; SQS receives take visible messages in random order, Pub/Sub holds back ${REORDER_RATE * 100} % until the next message (seeded). Reconciliation: ECS every cluster once per ${ECS_RECONCILE_MS / 60_000} min (ListTasks), Cloud Run cheap polls every ${CLOUDRUN_LIVE_POLL_MS / 60_000} min while the feed is live.`,
        `Detection = the fleet change → the row in the console's database (through the watcher's outbox and the console client's batching), real clock. The dropped events were lost at the emulators right after the console held the whole fleet.`,
      );
      await pushed.stop();

      // Today's poll mode, same fleet (a fresh state directory: it lists everything again).
      w.events.detach();
      if (SKIP_POLL) notes.push("Today's poll mode was left out of this run (BENCH_PUSHED_SKIP_POLL=1).");
      if (!SKIP_POLL) {
        const pollStarted = Date.now();
        const poll = WatcherProcess.spawn(writeConfig(w, 'poll'), KEYS, log);
        try {
          log(`poll mode: watcher pid ${poll.pid}, waiting for the first list`);
          await poll.waitReady(900_000);
          log(
            `poll mode: ready after ${((Date.now() - pollStarted) / 1000).toFixed(1)} s; steady state for ${POLL_STEADY_WINDOW_MS / 1000} s`,
          );
          await sleep(STEADY_SETTLE_MS);
          const pollRss = new RssSampler(poll, RSS_SAMPLE_EVERY_MS);
          const pollSteady = await steadyCallsPerHour(w, poll, POLL_STEADY_WINDOW_MS);
          const prss = pollRss.stop();
          log(`poll mode: ${pollSteady.total} calls/h; detection, ${POLL_CHANGES} changes of each provider`);
          const pollDetect = await detect(w, poll, view, POLL_CHANGES, POLL_DETECT_WITHIN_MS, 500);
          figures.push(
            {
              metric:
                'poll mode: API calls per hour at steady state (CloudTrail + ListTasks sweeps, audit tail)',
              value: pollSteady.total,
              unit: 'calls/h',
            },
            { metric: 'poll mode: of which ListTasks', value: pollSteady.listTasks, unit: 'calls/h' },
            ...detectionFigures('poll mode', pollDetect),
            {
              metric: `poll mode: changes not detected within ${POLL_DETECT_WITHIN_MS / 1000} s`,
              value: pollDetect.missed,
              unit: 'changes',
            },
            {
              metric: 'poll mode: watcher RSS at steady state, max',
              value: Math.round(prss.maxMb),
              unit: 'MB',
            },
          );
        } finally {
          await poll.stop();
        }
      }

      // The 60 s full poll: one full inventory, measured.
      log('60 s full poll: one full inventory');
      const base = loadConfigFile(writeConfig(w, 'poll'), { env: { ...process.env, ...KEYS } });
      const registry = createRegistry(false);
      const t = Date.now();
      const inv = await inventoryOnce(
        { ...base, budget: { fraction: 1_000 } },
        { logger: createLogger({ level: 'silent', pretty: false }), registry, agentVersion: 'full-poll' },
      );
      const pollMs = Date.now() - t;
      const fullCalls = metricSum(await registry.metrics(), 'sightline_api_calls_total');
      const fullPerHour = Math.round((fullCalls * HOUR_MS) / FULL_POLL_INTERVAL_MS);
      figures.push(
        {
          metric: '60 s full poll: API calls per hour (one full inventory measured × 60)',
          value: fullPerHour,
          unit: 'calls/h',
        },
        { metric: '60 s full poll: duration of one poll', value: pollMs / 1000, unit: 's' },
        {
          metric: '60 s full poll: detection p50 (computed: half the interval + one poll)',
          value: Math.round((0.5 * FULL_POLL_INTERVAL_MS + pollMs) / 100) / 10,
          unit: 's',
        },
        {
          metric: '60 s full poll: detection p99 (computed: 99 % of the interval + one poll)',
          value: Math.round((0.99 * FULL_POLL_INTERVAL_MS + pollMs) / 100) / 10,
          unit: 's',
        },
        {
          metric: 'pushed mode: fewer API calls than the 60 s full poll',
          value: Math.round((fullPerHour / Math.max(1, pushedSteady.total)) * 10) / 10,
          unit: '×',
          target: '≥ 10',
          pass: fullPerHour >= 10 * pushedSteady.total,
        },
        {
          metric: 'pushed mode: detection p99 faster than the 60 s full poll (slowest change type)',
          value:
            Math.round(
              ((0.99 * FULL_POLL_INTERVAL_MS + pollMs) /
                Math.max(...[...pushedDetect.latenciesMs.values()].map((l) => percentile(l, 99)))) *
                10,
            ) / 10,
          unit: '×',
          target: '≥ 10',
        },
      );
      notes.push(
        `Full poll: ${inv.objects.length} objects in ${(pollMs / 1000).toFixed(1)} s with our own lister at an unlimited budget (which flatters it); not run every minute here, so that it does not load the machine the watcher is measured on.`,
        `Calls are counted by the emulators (what the provider would bill and rate-limit) over ${STEADY_WINDOW_MS / 1000} s (pushed) and ${POLL_STEADY_WINDOW_MS / 1000} s (poll) of real time with no change, extrapolated to one hour. Pushed mode's ECS reconciliation lists one cluster at a time, so a short window over- or under-counts it by up to one cluster's pages.`,
        `The watcher runs at budget.fraction 1 with the Docker image's ENV, NODE_OPTIONS="${watcherNodeOptions}"; its RSS is read from /proc/<pid>/status (VmRSS every second, VmHWM), the emulators and the console live in the bench's process.${SMOKE ? ' SMOKE RUN: 1/20 fleet, short windows.' : ''}`,
      );
    } finally {
      steadyRss?.stop();
      pushedRss.stop();
      await pushed.stop();
    }
  } finally {
    view.close();
    await w.stop();
  }
  return {
    name: 'Pushed change events, whole daemon: 100,000 ECS tasks + 5,000 Cloud Run revisions',
    figures,
    notes,
  };
}
