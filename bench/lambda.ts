/**
 * Lambda benchmark (issue #17): 2,000 container-image functions × 5 published versions in 4
 * regions (500 a region) in the Lambda emulator, real @aws-sdk clients on loopback, the real watch
 * engine on virtual time. Figures:
 *
 * - initial list calls per operation, cold (no cached version images) and warm (after a restart:
 *   each version's image is read once ever), next to the minimum a watcher needs (ListFunctions
 *   with FunctionVersion=ALL instead of ListVersionsByFunction, GetFunction per function and per
 *   version, ListAliases per function), and the time the list takes at Lambda's documented limits
 *   (GetFunction 100/s, the rest 15/s, per region; computed from the calls);
 * - steady-state calls per hour with no change, measured over one virtual hour per mode (poll mode:
 *   ListFunctions poll + CloudTrail; pushed mode: reconciliation + CloudTrail, ReceiveMessage long
 *   polls computed: SQS long polls run on real time), plus the 10 h relist amortized;
 * - detection time of an UpdateFunctionCode through each change path (CloudTrail, the ListFunctions
 *   poll alone, the pushed EventBridge → SQS events alone) with the default intervals, over several
 *   updates at spread phases, in virtual time. CloudTrail's own delivery delay (minutes on AWS) is
 *   0 in the emulator and comes on top of the CloudTrail figure.
 *
 * Progress goes to stderr.
 */
import { pino } from 'pino';
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import type { BenchFigure, BenchSection } from './report.js';
import { startSqsEmulator } from '../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../adapters/aws/emulator/sqs.js';
import { lambdaSchema } from '../adapters/lambda/config.js';
import { LambdaEventPublisher, startLambdaEmulator } from '../adapters/lambda/emulator/index.js';
import type { LambdaEmulator } from '../adapters/lambda/emulator/index.js';
import { createLambdaAdapter } from '../adapters/lambda/index.js';
import type { LambdaAdapter } from '../adapters/lambda/index.js';
import { LAMBDA_PAGE_SIZE } from '../adapters/lambda/lister.js';
import type { ClusterObject } from '../src/model/index.js';
import type { ProviderDeps } from '../src/provider/adapter.js';
import { MemoryCache } from '../src/provider/cache.js';
import { CoreMetrics, Registry } from '../src/runtime/metrics.js';
import { ApiBudget } from '../src/watch/budget.js';
import { createWatch } from '../src/watch/index.js';
import type { Watch } from '../src/watch/index.js';
import { VirtualClock } from '../test/watch/virtual-clock.js';

const ACCOUNT = '123456789012';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1'];
const FUNCTIONS = Number(process.env['BENCH_LAMBDA_FUNCTIONS'] ?? 2_000);
const VERSIONS = 5;
const HOUR_MS = 3_600_000;
const RELIST_MS = 10 * HOUR_MS;
const DETECTIONS = Number(process.env['BENCH_LAMBDA_DETECTIONS'] ?? 5);
const START_MS = Date.UTC(2026, 11, 3, 12, 0, 0);
const CONTROL_PLANE_PER_S = 15;
const GET_FUNCTION_PER_S = 100;
const SQS_LONG_POLL_S = 20;
const OPS = ['ListFunctions', 'GetFunction', 'ListVersionsByFunction', 'ListAliases'] as const;

const log = (msg: string): void => {
  process.stderr.write(`[bench lambda] ${msg}\n`);
};

function deps(scheduler: SchedulerLike, cache: MemoryCache): ProviderDeps {
  return {
    logger: pino({ level: 'silent' }),
    metrics: new CoreMetrics(new Registry()),
    // Unlimited: calls are counted here, their pace at the documented limits is computed.
    budget: new ApiBudget({}, 1, scheduler),
    scheduler,
    cache,
    tenant: { group: 'bench', issuer: 'https://issuer.bench.invalid' },
    agentVersion: '0.0.0-bench',
    clusterPollIntervalMs: 5_000,
  };
}

function config(emu: LambdaEmulator, regions: string[], extra: Record<string, unknown> = {}) {
  return lambdaSchema.parse({
    account: ACCOUNT,
    regions,
    credentials: { source: 'static', accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
    endpoints: { lambda: emu.endpoint, cloudtrail: emu.endpoint },
    ...extra,
  });
}

async function listEverything(adapter: LambdaAdapter): Promise<number> {
  let objects = 0;
  await Promise.all(
    adapter.regions().map(async (r) => {
      let token: string | undefined;
      do {
        const page = await r.functions.list(token);
        objects += page.items.length;
        token = page.nextPageToken;
      } while (token !== undefined);
    }),
  );
  return objects;
}

function callsOf(emu: LambdaEmulator): Record<string, number> {
  return Object.fromEntries(OPS.map((op) => [op, emu.calls.get(op)]));
}

/** Seconds one region's list takes at the documented limits (the two buckets drain in parallel). */
function listSecondsAtLimits(calls: Record<string, number>, regions: number): number {
  const control =
    (calls['ListFunctions'] ?? 0) + (calls['ListVersionsByFunction'] ?? 0) + (calls['ListAliases'] ?? 0);
  return Math.max(
    control / regions / CONTROL_PLANE_PER_S,
    (calls['GetFunction'] ?? 0) / regions / GET_FUNCTION_PER_S,
  );
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Running {
  clock: VirtualClock;
  adapter: LambdaAdapter;
  watch: Watch<ClusterObject>;
}

/** One region's source under the real engine on a virtual clock (the emulator on the same clock). */
async function watchRegion(
  emu: LambdaEmulator,
  clock: VirtualClock,
  cache: MemoryCache,
  extra: Record<string, unknown>,
): Promise<Running> {
  const adapter = createLambdaAdapter(
    config(emu, [REGIONS[0] ?? 'us-east-1'], extra),
    deps(clock.scheduler, cache),
  );
  const [source] = await adapter.sources();
  if (!source) throw new Error('no source');
  const watch = createWatch<ClusterObject>(source, {
    scheduler: clock.scheduler,
    random: () => 0,
    logger: pino({ level: 'silent' }),
  });
  watch.start();
  await waitFor(() => watch.synced, 'first list');
  return { clock, adapter, watch };
}

/**
 * Moves virtual time in steps, each only once the emulator has gone quiet (no call for 20 ms of
 * real time), so a poll's pages finish before the clock moves on, as they would on a real clock.
 */
async function advance(clock: VirtualClock, ms: number, stepMs: number, emu?: LambdaEmulator): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await clock.advance(Math.min(stepMs, ms - t));
    if (emu === undefined) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    for (;;) {
      const before = emu.calls.total();
      await new Promise((r) => setTimeout(r, 20));
      if (emu.calls.total() === before) break;
    }
  }
}

function digestIn(w: Watch<ClusterObject>, name: string): string | undefined {
  for (const o of w.store.values())
    if (o.kind === 'workload' && o.workload.kind === 'Deployment' && o.workload.name === name)
      return o.workload.containers[0]?.image.digest;
  return undefined;
}

async function detection(
  emu: LambdaEmulator,
  run: Running,
  record: boolean,
  label: string,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < DETECTIONS; i++) {
    // Spread the change over the poll phases: wait a different fraction of a minute first.
    await advance(run.clock, Math.round((60_000 * i) / DETECTIONS) + 1_000, 1_000);
    const name = `fn-${String(4 * (i + 1) * 7).padStart(5, '0')}`;
    const fn = emu.fleet.updateFunctionCode({
      name,
      region: REGIONS[0],
      imageUri: `${ACCOUNT}.dkr.ecr.${REGIONS[0] ?? ''}.amazonaws.com/${name}:bench-${label}-${i}`,
      recordEvent: record,
    });
    const t0 = run.clock.now();
    for (let s = 0; s < 600 && digestIn(run.watch, name) !== fn.digest; s++) {
      await run.clock.advance(500);
      await new Promise((r) => setTimeout(r, 5));
      if (digestIn(run.watch, name) !== fn.digest) await new Promise((r) => setTimeout(r, 10));
    }
    if (digestIn(run.watch, name) !== fn.digest) throw new Error(`${label}: update ${i} not detected`);
    out.push(run.clock.now() - t0);
  }
  return out;
}

async function stop(run: Running): Promise<void> {
  await run.watch.stop();
  await run.adapter.close();
}

export async function run(): Promise<BenchSection> {
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  const clock = new VirtualClock();
  await clock.advanceTo(START_MS);
  const emu = await startLambdaEmulator({
    account: ACCOUNT,
    now: () => clock.now(),
    throttling: { enabled: false },
    recordReadEvents: false,
  });
  let sqs: SqsEmulator | undefined;
  try {
    emu.fleet.generate({ regions: REGIONS, functions: FUNCTIONS, versionsPerFunction: VERSIONS });
    log(`fleet: ${FUNCTIONS} functions × ${VERSIONS} versions in ${REGIONS.length} regions`);
    const perRegion = FUNCTIONS / REGIONS.length;

    // 1. Initial list: cold, then warm (a restart with the state database's cache).
    const cache = new MemoryCache();
    for (const phase of ['cold', 'warm'] as const) {
      emu.calls.reset();
      const a = createLambdaAdapter(config(emu, REGIONS), deps(asyncScheduler, cache));
      const t0 = Date.now();
      const objects = await listEverything(a);
      const wallMs = Date.now() - t0;
      await a.close();
      const calls = callsOf(emu);
      const total = Object.values(calls).reduce((x, y) => x + y, 0);
      log(`${phase} list: ${objects} objects, ${total} calls ${JSON.stringify(calls)} in ${wallMs} ms`);
      for (const op of OPS)
        figures.push({
          metric: `initial list (${phase}): ${op} calls`,
          value: calls[op] ?? 0,
          unit: 'calls',
        });
      const minimum =
        Math.ceil((perRegion * (VERSIONS + 1)) / LAMBDA_PAGE_SIZE) * REGIONS.length +
        FUNCTIONS * 2 +
        (phase === 'cold' ? FUNCTIONS * VERSIONS : 0);
      figures.push({ metric: `initial list (${phase}): total calls`, value: total, unit: 'calls' });
      figures.push({ metric: `initial list (${phase}): minimum calls`, value: minimum, unit: 'calls' });
      figures.push({
        metric: `initial list (${phase}): calls / minimum`,
        value: Number((total / minimum).toFixed(3)),
        unit: '×',
      });
      figures.push({
        metric: `initial list (${phase}): time per region at the documented limits (computed)`,
        value: Math.round(listSecondsAtLimits(calls, REGIONS.length)),
        unit: 's',
      });
      figures.push({ metric: `initial list (${phase}): objects`, value: objects, unit: 'objects' });
    }
    notes.push(
      'Minimum: ListFunctions(FunctionVersion=ALL) pages (every version configuration, 50 a page) + GetFunction per function and, cold, per version (the only call returning a version image) + ListAliases per function. The adapter calls ListVersionsByFunction per function instead of the ALL listing (simpler per-function reads, +1 call per function).',
    );

    // 2. Steady state, one virtual hour per mode, one region measured, ×4 regions.
    const steady = async (mode: 'poll' | 'pushed'): Promise<Record<string, number>> => {
      let extra: Record<string, unknown> = {};
      if (mode === 'pushed') {
        sqs = await startSqsEmulator({
          account: ACCOUNT,
          region: REGIONS[0],
          now: () => clock.now(),
          maxWaitMs: 50,
        });
        const queueUrl = sqs.createQueue('sightline-lambda-events').url;
        new LambdaEventPublisher(emu.fleet, sqs, 'sightline-lambda-events', () => clock.now()).attach();
        extra = {
          endpoints: { lambda: emu.endpoint, cloudtrail: emu.endpoint, sqs: sqs.endpoint },
          changeFeed: { source: 'sqs', queueUrl },
        };
      }
      const r = await watchRegion(emu, clock, cache, extra);
      emu.calls.reset();
      await advance(clock, HOUR_MS, 10_000, emu);
      const calls = { ...callsOf(emu), LookupEvents: emu.calls.get('LookupEvents') };
      await stop(r);
      return calls;
    };
    const warmRelistPerHour =
      (figures.find((f) => f.metric.startsWith('initial list (warm): total'))?.value ?? 0) /
      (RELIST_MS / HOUR_MS);
    for (const mode of ['poll', 'pushed'] as const) {
      const c = await steady(mode);
      const lambdaCalls = OPS.reduce((x, op) => x + (c[op] ?? 0), 0) * REGIONS.length;
      const lookups = (c['LookupEvents'] ?? 0) * REGIONS.length;
      const receives = mode === 'pushed' ? (HOUR_MS / 1000 / SQS_LONG_POLL_S) * REGIONS.length : 0;
      log(`steady ${mode}: ${JSON.stringify(c)} in one region-hour`);
      figures.push({
        metric: `steady state, ${mode} mode: Lambda calls per hour (4 regions)`,
        value: lambdaCalls,
        unit: 'calls/h',
      });
      figures.push({
        metric: `steady state, ${mode} mode: LookupEvents per hour (4 regions)`,
        value: lookups,
        unit: 'calls/h',
      });
      if (mode === 'pushed')
        figures.push({
          metric: 'steady state, pushed mode: ReceiveMessage per hour (4 regions, computed: 20 s long polls)',
          value: receives,
          unit: 'calls/h',
        });
      figures.push({
        metric: `steady state, ${mode} mode: all calls per hour incl. the 10 h relist amortized (warm)`,
        value: Math.round(lambdaCalls + lookups + receives + warmRelistPerHour),
        unit: 'calls/h',
      });
      figures.push({
        metric: `steady state, ${mode} mode: share of the control-plane limit (15/s/region)`,
        value: Number(((lambdaCalls / REGIONS.length / 3600 / CONTROL_PLANE_PER_S) * 100).toFixed(3)),
        unit: '%',
      });
    }

    // 3. Detection of UpdateFunctionCode per change path (defaults: CloudTrail 60 s, poll 60 s).
    const paths: Array<{ label: string; extra: Record<string, unknown>; record: boolean }> = [
      { label: 'CloudTrail (poll off)', extra: { functionPollIntervalMs: HOUR_MS }, record: true },
      {
        label: 'ListFunctions poll (no CloudTrail event)',
        extra: { cloudTrail: { pollIntervalMs: HOUR_MS } },
        record: false,
      },
    ];
    if (sqs !== undefined) {
      paths.push({
        label: 'EventBridge → SQS (no poll, no CloudTrail)',
        extra: {
          endpoints: { lambda: emu.endpoint, cloudtrail: emu.endpoint, sqs: sqs.endpoint },
          changeFeed: {
            source: 'sqs',
            queueUrl: sqs.queue('sightline-lambda-events')?.url,
            cloudTrail: false,
            reconcileIntervalMs: 24 * HOUR_MS,
          },
          functionPollIntervalMs: HOUR_MS,
        },
        record: false,
      });
    }
    for (const p of paths) {
      const r = await watchRegion(emu, clock, cache, p.extra);
      const times = await detection(emu, r, p.record, p.label);
      await stop(r);
      const mean = times.reduce((x, y) => x + y, 0) / times.length;
      log(`detection via ${p.label}: ${times.join(', ')} ms`);
      figures.push({
        metric: `UpdateFunctionCode detection via ${p.label}: mean`,
        value: Math.round(mean / 100) / 10,
        unit: 's',
      });
      figures.push({
        metric: `UpdateFunctionCode detection via ${p.label}: max`,
        value: Math.max(...times) / 1000,
        unit: 's',
      });
    }
    notes.push(
      'Detection is virtual time in 0.5 s steps with default intervals (CloudTrail poll 60 s, ListFunctions poll 60 s). CloudTrail on AWS adds its delivery delay (typically minutes) on top of the CloudTrail figure; the pushed figure adds EventBridge + SQS delivery (seconds).',
    );
  } finally {
    await sqs?.stop();
    await emu.stop();
  }
  return {
    name: `lambda (${FUNCTIONS} functions × ${VERSIONS} versions, ${REGIONS.length} regions)`,
    figures,
    notes,
  };
}
