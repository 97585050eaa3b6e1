/**
 * Cloud Run pushed mode (#14) against the tail, on one emulated fleet of 1,700 services × 3 serving
 * revisions (5,100 revisions) in 10 regions, real SDK clients on loopback:
 * - detection: from an audit entry written to the emulator's log to the hint for its service
 *   leaving the services source, p50 / p99, in pushed mode (Log Router sink → Pub/Sub, with the
 *   broker's delivery delay at 1 s and 1 % duplicates and 1 % reordering) and in tail mode
 *   (TailLogEntries, buffer window 0, no delivery delay in the emulator);
 * - calls per hour at rest: one cheap-poll cycle of every kind source measured, times the cycles
 *   per hour (`livePollIntervalMs` while the feed is live), plus a tenth of one relist (every 10 h)
 *   and, for the tail, one reconnect and catch-up per hour (the tail's 1 h deadline).
 * Samples are written every `SAMPLE_EVERY_MS` without waiting for the previous one (a reordered
 * message is held until the next one is published, as Pub/Sub would deliver it later).
 * Prints progress to stderr only.
 */
import { performance } from 'node:perf_hooks';
import { asyncScheduler } from 'rxjs';
import { pino } from 'pino';
import type { BenchSection } from './report.js';
import { percentile } from './watcher-process.js';
import type { CloudRunEmulator } from '../adapters/cloudrun/emulator/index.js';
import { startCloudRunEmulator } from '../adapters/cloudrun/emulator/index.js';
import { createCloudRunAdapter, workloadKey } from '../adapters/cloudrun/index.js';
import type { CloudRunConfig } from '../adapters/cloudrun/config.js';
import type { ProviderDeps } from '../src/provider/adapter.js';
import type { ClusterObject } from '../src/model/index.js';
import type { Hint } from '../src/watch/source.js';
import { ApiBudget } from '../src/watch/budget.js';
import { CoreMetrics, Registry } from '../src/runtime/metrics.js';
import { MemoryCache } from '../src/provider/cache.js';

const PROJECT = 'bench-project';
const REGIONS = [
  'asia-east1',
  'asia-northeast1',
  'australia-southeast1',
  'europe-north1',
  'europe-west1',
  'europe-west4',
  'southamerica-east1',
  'us-central1',
  'us-east1',
  'us-west1',
];
const SERVICES = 1_700;
const SAMPLES = 300;
const SAMPLE_EVERY_MS = 20;
const DELIVERY_DELAY_MS = 1_000;
const DUPLICATE_RATE = 0.01;
const REORDER_RATE = 0.01;
const DETECTION_P99_TARGET_MS = 5_000;
const WAIT_FOR_LAST_MS = 15_000;
const TOPIC = 'projects/bench-host/topics/run-audit';
const SUBSCRIPTION = 'projects/bench-host/subscriptions/sightline';
const RELIST_EVERY_H = 10;

function progress(msg: string): void {
  process.stderr.write(`[bench cloudrun-pushed] ${msg}\n`);
}

/**
 * A seeded generator (mulberry32), so that the knobs pick the same messages on every run (the
 * pushed-daemon bench seeds its emulators with it too).
 */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface ModeResult {
  p50: number;
  p99: number;
  lost: number;
  listCalls: number;
  pollCalls: number;
  callsPerHour: number;
  pollIntervalMs: number;
}

async function measure(emu: CloudRunEmulator, mode: 'tail' | 'pubsub'): Promise<ModeResult> {
  const config: CloudRunConfig = {
    projects: [PROJECT],
    regions: REGIONS,
    credentials: { source: 'none' },
    endpoints: {
      run: `127.0.0.1:${emu.runEndpoint.port}`,
      logging: `127.0.0.1:${emu.loggingEndpoint.port}`,
      runV1: emu.runV1BaseUrl,
      ...(emu.pubsubEndpoint ? { pubsub: `127.0.0.1:${emu.pubsubEndpoint.port}` } : {}),
      insecure: true,
    },
    tailBufferWindowMs: 0,
    logPollIntervalMs: 5_000,
    digestRetryIntervalMs: 60_000,
    livePollIntervalMs: 300_000,
    changeFeed:
      mode === 'pubsub'
        ? { source: 'pubsub', subscription: SUBSCRIPTION, silenceMs: 60_000, maxOutstandingMessages: 1_000 }
        : { source: 'tail' },
  };
  const deps: ProviderDeps = {
    logger: pino({ level: 'silent' }),
    metrics: new CoreMetrics(new Registry()),
    budget: new ApiBudget({}),
    scheduler: asyncScheduler,
    cache: new MemoryCache(),
    tenant: { group: 'bench', issuer: 'https://issuer.example' },
    agentVersion: 'bench',
    clusterPollIntervalMs: 5_000,
  };
  const adapter = createCloudRunAdapter(config, deps);
  try {
    const sources = await adapter.sources();
    const source = sources.find((s) => s.id.endsWith('/services'));
    if (!source) throw new Error('no services source');
    emu.calls.reset();
    let listCursor: string | undefined;
    for (const s of sources) {
      let token: string | undefined;
      do {
        const page = await s.list(token);
        if (s === source && token === undefined) listCursor = page.cursor;
        token = page.nextPageToken;
      } while (token !== undefined);
    }
    const listCalls = emu.calls.count();
    emu.calls.reset();
    for (const s of sources) await s.cheapPoll?.poll();
    const pollCalls = emu.calls.count();

    const writtenAt = new Map<string, number>();
    const latencies: number[] = [];
    let ready = false;
    const sub = source.hints(listCursor).subscribe((h: Hint<ClusterObject>) => {
      if (h.type === 'bookmark') ready = true;
      if (h.type !== 'changed' && h.type !== 'family') return;
      const at = writtenAt.get(h.key);
      if (at !== undefined) {
        writtenAt.delete(h.key);
        latencies.push(performance.now() - at);
      }
    });
    const waitUntil = async (cond: () => boolean, timeoutMs: number): Promise<boolean> => {
      const end = performance.now() + timeoutMs;
      while (!cond()) {
        if (performance.now() > end) return false;
        await new Promise((r) => setTimeout(r, 2));
      }
      return true;
    };
    await waitUntil(() => ready, 10_000);
    const pollIntervalMs = source.cheapPoll?.intervalMs ?? 0;
    for (let i = 0; i < SAMPLES; i += 1) {
      const region = REGIONS[i % REGIONS.length] ?? 'us-central1';
      const name = `svc-${i}`;
      const key = workloadKey(PROJECT, region, `projects/${PROJECT}/locations/${region}/services/${name}`);
      writtenAt.set(key, performance.now());
      emu.fleet.writeAudit(PROJECT, {
        logName: `projects/${PROJECT}/logs/cloudaudit.googleapis.com%2Factivity`,
        resource: {
          type: 'cloud_run_revision',
          labels: { project_id: PROJECT, location: region, service_name: name, revision_name: '' },
        },
        protoPayload: {
          '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
          serviceName: 'run.googleapis.com',
          methodName: 'google.cloud.run.v2.Services.UpdateService',
          resourceName: `projects/${PROJECT}/locations/${region}/services/${name}`,
        },
      });
      await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
    }
    // A message held back for reordering goes out with the next publish; after the last, release it.
    await new Promise((r) => setTimeout(r, DELIVERY_DELAY_MS));
    emu.pubsub?.flushHeld();
    await waitUntil(() => writtenAt.size === 0, WAIT_FOR_LAST_MS);
    sub.unsubscribe();
    const sorted = [...latencies].sort((a, b) => a - b);
    const perHour = (pollCalls * 3_600_000) / pollIntervalMs;
    // Tail: one reconnect (TailLogEntries) and one catch-up ListLogEntries per project per hour.
    const tailHourly = mode === 'tail' ? 2 : 0;
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      lost: writtenAt.size,
      listCalls,
      pollCalls,
      pollIntervalMs,
      callsPerHour: Math.round(perHour + listCalls / RELIST_EVERY_H + tailHourly),
    };
  } finally {
    await adapter.close();
  }
}

export async function run(): Promise<BenchSection> {
  const emu = await startCloudRunEmulator({
    projects: { [PROJECT]: REGIONS },
    logSink: { topic: TOPIC, subscription: SUBSCRIPTION, ackDeadlineS: 60, random: seeded(14) },
  });
  try {
    const f = emu.fleet;
    for (let i = 0; i < SERVICES; i += 1) {
      const region = REGIONS[i % REGIONS.length] ?? 'us-central1';
      const name = `svc-${i}`;
      f.deployService(PROJECT, region, name, `us-docker.pkg.dev/${PROJECT}/app/${name}:1`, { silent: true });
      f.rollService(PROJECT, region, name, `us-docker.pkg.dev/${PROJECT}/app/${name}:2`, { silent: true });
      const r3 = f.rollService(PROJECT, region, name, `us-docker.pkg.dev/${PROJECT}/app/${name}:3`, {
        silent: true,
      });
      const revs = [...(f.services.get(r3.service)?.revisions ?? [])];
      f.splitTraffic(
        PROJECT,
        region,
        name,
        revs.map((revision, k) => ({ revision, percent: k === 0 ? 34 : 33 })),
        { silent: true },
      );
    }
    progress(`fleet: ${f.services.size} services, ${f.revisions.size} revisions`);
    const broker = emu.pubsub;
    if (!broker) throw new Error('no Pub/Sub broker');
    broker.knobs.delayMs = DELIVERY_DELAY_MS;
    broker.knobs.duplicateRate = DUPLICATE_RATE;
    broker.knobs.reorderRate = REORDER_RATE;
    const pushed = await measure(emu, 'pubsub');
    progress(`pushed: p50 ${pushed.p50.toFixed(0)} ms, p99 ${pushed.p99.toFixed(0)} ms, lost ${pushed.lost}`);
    const tail = await measure(emu, 'tail');
    progress(`tail: p50 ${tail.p50.toFixed(0)} ms, p99 ${tail.p99.toFixed(0)} ms, lost ${tail.lost}`);
    const round = (n: number) => Math.round(n);
    return {
      name: 'Cloud Run pushed mode (Log Router sink → Pub/Sub) vs tail',
      figures: [
        { metric: 'revisions in the fleet', value: f.revisions.size, unit: 'revisions' },
        {
          metric: 'pushed: detection p50 (1 s delivery delay, 1 % duplicates, 1 % reordering)',
          value: round(pushed.p50),
          unit: 'ms',
        },
        {
          metric: 'pushed: detection p99',
          value: round(pushed.p99),
          unit: 'ms',
          target: `≤ ${DETECTION_P99_TARGET_MS}`,
          pass: pushed.p99 <= DETECTION_P99_TARGET_MS,
        },
        {
          metric: 'pushed: entries without a hint',
          value: pushed.lost,
          unit: 'entries',
          target: '0',
          pass: pushed.lost === 0,
        },
        {
          metric: 'tail: detection p50 (no delivery delay in the emulator)',
          value: round(tail.p50),
          unit: 'ms',
        },
        { metric: 'tail: detection p99', value: round(tail.p99), unit: 'ms' },
        { metric: 'tail: entries without a hint', value: tail.lost, unit: 'entries' },
        { metric: 'pushed: calls per hour at rest (computed)', value: pushed.callsPerHour, unit: 'calls/h' },
        { metric: 'tail: calls per hour at rest (computed)', value: tail.callsPerHour, unit: 'calls/h' },
        { metric: 'one relist of every kind: calls', value: pushed.listCalls, unit: 'calls' },
        { metric: 'one cheap-poll cycle of every kind: calls', value: pushed.pollCalls, unit: 'calls' },
      ],
      notes: [
        `${SERVICES} services × 3 serving revisions in ${REGIONS.length} regions of one project; ${SAMPLES} UpdateService activity entries for distinct services, one every ${SAMPLE_EVERY_MS} ms; detection = entry written → family hint leaving the services source (the reads follow in the engine's worker).`,
        `Pushed: the emulator's sink publishes each entry; the broker delays delivery ${DELIVERY_DELAY_MS} ms, duplicates ${DUPLICATE_RATE * 100} % and holds back ${REORDER_RATE * 100} % until the next message (seeded). One StreamingPull; the tail is not opened.`,
        `Calls at rest: cheap polls every ${pushed.pollIntervalMs / 1000} s (the feed is live in both modes), a relist every ${RELIST_EVERY_H} h, and for the tail one reconnect + catch-up per project per hour; Pub/Sub adds one GetSubscription per session (none at rest) and no per-message call beyond the batched acks. The difference that matters is per project: the tail needs one live session per project (Logging allows 10 per project), the feed one stream per organization.`,
      ],
    };
  } finally {
    await emu.stop();
  }
}
