/**
 * Cloud Run change latency as a new user meets it (issue #12), at the default API budget (25 % of
 * the documented Run and Logging rates) on the emulator, 2 projects × 2 regions, deploys logged as
 * Cloud Run logs them (operation start, operation end, Ready system event; `lroAudit`), one watch
 * engine per kind source as the daemon runs them, tail buffer window 0 (so the figures are beyond
 * the buffer window):
 * - how long a fresh start takes to be ready (every kind source listed), and the first change made
 *   then, with 30 deploys logged in the 9 s before the start (the catch-up re-delivers them: what the
 *   list showed must cost no read, and the rest must not make the first change wait);
 * - the Run reads the start made after its lists, and the hints skipped as covered by the list;
 * - 20 deploys at once on a synced watch: when the last one is visible;
 * - provider reads per deploy in that burst.
 * A change is visible when the engine emits its service with the new image's digest.
 */
import { pino } from 'pino';
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { startCloudRunEmulator, digestOf } from '../adapters/cloudrun/emulator/index.js';
import type { CloudRunEmulator } from '../adapters/cloudrun/emulator/index.js';
import { createCloudRunAdapter } from '../adapters/cloudrun/index.js';
import type { CloudRunConfig } from '../adapters/cloudrun/config.js';
import { CLOUD_RUN_BUCKETS } from '../adapters/cloudrun/limits.js';
import type { ProviderDeps } from '../src/provider/adapter.js';
import { MemoryCache } from '../src/provider/cache.js';
import { CoreMetrics, Registry } from '../src/runtime/metrics.js';
import type { ClusterObject } from '../src/model/index.js';
import { ApiBudget } from '../src/watch/budget.js';
import { createWatch } from '../src/watch/engine.js';
import type { WatchEvent } from '../src/watch/events.js';
import type { Watch } from '../src/watch/types.js';
import type { WatchSource } from '../src/watch/source.js';
import type { BenchSection } from './report.js';

const PROJECTS = ['latency-project-a', 'latency-project-b'];
const REGIONS = ['us-central1', 'europe-west1'];
const PRESTART_DEPLOYS = 30;
const BURST = 20;
const READY_DELAY_MS = 100;
const TARGET_MS = 5_000;

function progress(msg: string): void {
  process.stderr.write(`[bench cloudrun-latency] ${msg}\n`);
}

interface Running {
  /** Objects the engines asked their sources to read (get / getMany keys), lists excluded. */
  keysRead: () => number;
  events: WatchEvent<ClusterObject>[];
  watches: Watch<ClusterObject>[];
  stop(): Promise<void>;
}

async function startWatches(emu: CloudRunEmulator, metrics: CoreMetrics): Promise<Running> {
  const config: CloudRunConfig = {
    projects: PROJECTS,
    regions: REGIONS,
    credentials: { source: 'none' },
    endpoints: {
      run: `127.0.0.1:${emu.runEndpoint.port}`,
      logging: `127.0.0.1:${emu.loggingEndpoint.port}`,
      runV1: emu.runV1BaseUrl,
      insecure: true,
    },
    tailBufferWindowMs: 0,
    logPollIntervalMs: 5_000,
    digestRetryIntervalMs: 60_000,
    livePollIntervalMs: 300_000,
    changeFeed: { source: 'tail' },
  };
  const deps: ProviderDeps = {
    logger: pino({ level: 'silent' }),
    metrics,
    // The daemon's default: 25 % of the documented limits.
    budget: new ApiBudget(CLOUD_RUN_BUCKETS, 0.25, asyncScheduler),
    scheduler: asyncScheduler,
    cache: new MemoryCache(),
    tenant: { group: 'bench', issuer: 'https://issuer.example' },
    agentVersion: 'bench',
    clusterPollIntervalMs: 5_000,
  };
  const adapter = createCloudRunAdapter(config, deps);
  const events: WatchEvent<ClusterObject>[] = [];
  let keysRead = 0;
  // Counts the objects each engine reads, as it asks for them.
  const counting = (source: WatchSource<ClusterObject>): WatchSource<ClusterObject> =>
    new Proxy(source, {
      get(target, prop) {
        const getMany = target.getMany?.bind(target);
        // The provider names the engine hands back with keys the store does not hold go through.
        if (prop === 'getMany' && getMany)
          return (keys: string[], refs?: ReadonlyMap<string, string>) => {
            keysRead += keys.length;
            return getMany(keys, refs);
          };
        if (prop === 'get')
          return (key: string, ref?: string) => {
            keysRead += 1;
            return target.get(key, ref);
          };
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  const watches = (await adapter.sources()).map((source) => {
    const watch = createWatch(counting(source), { logger: pino({ level: 'silent' }) });
    watch.events$.subscribe((e) => events.push(e));
    watch.start();
    return watch;
  });
  return {
    keysRead: () => keysRead,
    events,
    watches,
    async stop() {
      await Promise.all(watches.map((w) => w.stop()));
      await adapter.close();
    },
  };
}

function visibleAt(events: WatchEvent<ClusterObject>[], name: string, image: string): boolean {
  return events.some(
    (e) =>
      (e.type === 'ADDED' || e.type === 'MODIFIED') &&
      e.object.kind === 'workload' &&
      e.object.workload.nativeKind === 'run.googleapis.com/Service' &&
      e.object.workload.name === name &&
      e.object.workload.containers[0]?.image.digest === digestOf(image),
  );
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** The calls made since `before` (counts by RPC), as `Name n, ...`. */
function callsSince(emu: CloudRunEmulator, before: ReadonlyMap<string, number>): string {
  return emu.calls
    .names()
    .map((n) => [n.split('/').pop() ?? n, emu.calls.count(n) - (before.get(n) ?? 0)] as const)
    .filter(([, c]) => c > 0)
    .map(([n, c]) => `${n} ${c}`)
    .join(', ');
}

function runReads(emu: CloudRunEmulator): number {
  return emu.calls.names().reduce((n, rpc) => (rpc.includes('Logging') ? n : n + emu.calls.count(rpc)), 0);
}

async function metricSum(metrics: CoreMetrics, name: string): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

export async function run(): Promise<BenchSection> {
  let shiftMs = 0;
  // The emulator's clock: real time, moved back while the pre-start deploys are logged.
  const fleetClock: SchedulerLike = {
    now: () => Date.now() + shiftMs,
    schedule: asyncScheduler.schedule.bind(asyncScheduler),
  };
  const emu = await startCloudRunEmulator({
    projects: Object.fromEntries(PROJECTS.map((p) => [p, REGIONS])),
    lroAudit: true,
    readyDelayMs: READY_DELAY_MS,
    scheduler: fleetClock,
  });
  const metrics = new CoreMetrics(new Registry());
  const f = emu.fleet;
  for (const p of PROJECTS)
    for (const r of REGIONS)
      for (let i = 0; i < 10; i++)
        f.deployService(p, r, `base-${i}`, `us-docker.pkg.dev/${p}/app/base-${i}:1`, { silent: true });
  // The 9 s before the start (inside the 10 s the list's cursor is taken early): deploys whose
  // entries the first catch-up delivers again, logged 300 ms apart.
  for (let i = 0; i < PRESTART_DEPLOYS; i++) {
    const p = PROJECTS[i % PROJECTS.length] ?? '';
    const r = REGIONS[i % REGIONS.length] ?? '';
    shiftMs = -9_000 + i * 300;
    const { revision } = f.deployService(p, r, `pre-${i}`, `us-docker.pkg.dev/${p}/app/pre-${i}:1`, {
      readyDelayMs: 0,
    });
    await until(() => f.revisions.get(revision)?.ready === true, 5_000);
  }
  shiftMs = 0;
  let running: Running | undefined;
  try {
    // ------------------------------------------------ first change after a fresh start
    const startedAt = performance.now();
    const readsAtStart = runReads(emu);
    running = await startWatches(emu, metrics);
    const r = running;
    await until(() => r.watches.every((w) => w.synced), 60_000);
    const syncedMs = performance.now() - startedAt;
    const listReads = runReads(emu) - readsAtStart;
    const keysAtSync = r.keysRead();
    const atSync = new Map(emu.calls.names().map((n) => [n, emu.calls.count(n)]));
    // The first change once every source is ready: it comes through the tail (the catch-up of the
    // pre-start entries may still be running).
    const firstImage = `us-docker.pkg.dev/${PROJECTS[1]}/app/first:1`;
    const firstAt = performance.now();
    f.deployService(PROJECTS[1] ?? '', REGIONS[1] ?? '', 'first', firstImage);
    const firstOk = await until(() => visibleAt(r.events, 'first', firstImage), 60_000);
    const firstMs = performance.now() - firstAt;
    // Reads after the lists, up to the first change: the catch-up's and the first change's own.
    const startReads = runReads(emu) - readsAtStart - listReads;
    const startKeys = r.keysRead() - keysAtSync;
    const skipped = await metricSum(metrics, 'sightline_hints_skipped_total');
    progress(`calls after the lists: ${callsSince(emu, atSync)}`);
    progress(
      `ready after ${Math.round(syncedMs)} ms; first change after it: ${Math.round(firstMs)} ms (${firstOk ? 'seen' : 'NOT seen'}); ${listReads} list calls, then ${startReads} reads; ${startKeys} objects read; ${skipped} hints skipped as listed`,
    );

    // ------------------------------------------------ 20 deploys at once
    await new Promise((res) => setTimeout(res, 2_000)); // let the start settle (budget refills)
    const before = runReads(emu);
    const beforeBy = new Map(emu.calls.names().map((n) => [n, emu.calls.count(n)]));
    const burstAt = performance.now();
    const names: Array<[string, string]> = [];
    for (let i = 0; i < BURST; i++) {
      const p = PROJECTS[i % PROJECTS.length] ?? '';
      const reg = REGIONS[Math.floor(i / 2) % REGIONS.length] ?? '';
      const image = `us-docker.pkg.dev/${p}/app/burst-${i}:1`;
      f.deployService(p, reg, `burst-${i}`, image);
      names.push([`burst-${i}`, image]);
    }
    const burstOk = await until(() => names.every(([n, img]) => visibleAt(r.events, n, img)), 120_000);
    const burstMs = performance.now() - burstAt;
    const readsPerDeploy = (runReads(emu) - before) / BURST;
    const burstCalls = callsSince(emu, beforeBy);
    progress(`burst calls: ${burstCalls}`);
    progress(
      `last of ${BURST} deploys visible after ${Math.round(burstMs)} ms; ${readsPerDeploy} reads a deploy`,
    );
    return {
      name: 'cloudrun-latency (2 projects × 2 regions, default budget, 3 audit entries a deploy)',
      figures: [
        { metric: 'fresh start: every kind source ready (listed)', value: Math.round(syncedMs), unit: 'ms' },
        {
          metric: `fresh start: Run reads after the lists, up to the first change visible (catch-up of ${PRESTART_DEPLOYS} pre-start deploys + the first change)`,
          value: startReads,
          unit: 'calls',
        },
        {
          metric: 'fresh start: objects read after the lists, up to the first change visible',
          value: startKeys,
          unit: 'objects',
        },
        { metric: 'fresh start: hints skipped as covered by the list', value: skipped, unit: 'hints' },
        {
          metric: `first change once ready, after a fresh start (${PRESTART_DEPLOYS} deploys logged in the 9 s before it)`,
          value: Math.round(firstMs),
          unit: 'ms',
          target: `≤ ${TARGET_MS} (beyond the buffer window)`,
          pass: firstOk && firstMs <= TARGET_MS,
        },
        {
          metric: `last of ${BURST} simultaneous deploys visible`,
          value: Math.round(burstMs),
          unit: 'ms',
          target: `≤ ${TARGET_MS} (beyond the buffer window)`,
          pass: burstOk && burstMs <= TARGET_MS,
        },
        {
          metric: 'provider reads per deploy in the burst',
          value: Math.round(readsPerDeploy * 100) / 100,
          unit: 'reads',
          target: '≤ 3',
          pass: readsPerDeploy <= 3,
        },
      ],
      notes: [
        `Emulator deploys log an operation start, an operation end and a Ready system event ${READY_DELAY_MS} ms later; tail buffer window 0; budget = CLOUD_RUN_BUCKETS at 25 % (run:read 4/s burst 12, logging:read 0.25/s burst 1, logging:tail 0.25/s burst 2).`,
        'The first-change figure runs from the deploy, made once every kind source is ready, to the engine emitting the new service with its digest (the tail path, behind the catch-up of the pre-start entries).',
      ],
    };
  } finally {
    await running?.stop();
    await emu.stop();
  }
}
