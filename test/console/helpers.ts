/**
 * Test helpers for the console area: temp dirs, a log capture, model fixtures, a ConsoleClient
 * wired to a state database, a recording test console on loopback and a virtual clock.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { createLogger } from '../../src/runtime/logger.js';
import type { Logger } from '../../src/runtime/logger.js';
import { CoreMetrics, createRegistry } from '../../src/runtime/metrics.js';
import { clusterId, objectKey, toContainerImage } from '../../src/model/index.js';
import type { Cluster, ClusterObject, Workload } from '../../src/model/index.js';
import type { WatchEvent } from '../../src/watch/events.js';
import { openStateDatabase } from '../../src/state/database.js';
import type { StateDatabase } from '../../src/state/database.js';
import { ConsoleClient } from '../../src/console/client.js';
import type { ConsoleSink } from '../../src/console/sink.js';
import type { ConsoleClientDeps } from '../../src/console/client.js';
import type { ConsoleConfig } from '../../src/config/schema.js';
import { serviceDefinitions } from '../../src/console/proto.js';
import type {
  HeartbeatRequest,
  ReportSightingsRequest,
  WorkloadSighting,
  WriteReply,
} from '../../src/console/wire-types.js';

export const repoRoot = join(import.meta.dirname, '..', '..');

/**
 * A temporary directory and its removal. Removal retries briefly: a state database's background
 * checkpointer thread may still be closing its connection (removing -wal/-shm) after close().
 */
export function tempDir(prefix = 'sl-console-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }),
  };
}

export interface CapturedLogger {
  logger: Logger;
  lines: string[];
  text: () => string;
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger({ level, destination }), lines, text: () => lines.join('') };
}

export function newMetrics(): CoreMetrics {
  return new CoreMetrics(createRegistry(false));
}

export async function metricValue(
  metrics: CoreMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const json = await metrics.registry.getMetricsAsJSON();
  const m = json.find((x) => x.name === name);
  if (m === undefined) return 0;
  let sum = 0;
  for (const v of m.values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, val]) => l[k] === val)) sum += v.value;
  }
  return sum;
}

export function digestOf(n: number): `sha256:${string}` {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

export function makeCluster(n: number, overrides: Partial<Cluster> = {}): Cluster {
  const remoteId = `arn:aws:ecs:us-east-1:123456789012:cluster/c${n}`;
  return {
    id: clusterId('ECS', remoteId),
    provider: 'ECS',
    remoteId,
    name: `cluster-${n}`,
    region: 'us-east-1',
    account: '123456789012',
    group: 'group-1',
    issuer: 'https://issuer.example',
    platformVersion: '1.4.0',
    agentVersion: '0.1.0',
    labels: { team: 'a' },
    metadata: { status: 'ACTIVE' },
    ...overrides,
  };
}

export function makeWorkload(
  cluster: Cluster,
  n: number,
  imageN: number = n,
  overrides: Partial<Workload> = {},
): Workload {
  return {
    clusterId: cluster.id,
    uid: `task-${n}`,
    kind: 'Pod',
    nativeKind: 'ecs.amazonaws.com/Task',
    namespace: 'default',
    name: `task-${n}`,
    owners: [{ kind: 'Deployment', name: 'svc', uid: 'svc-uid' }],
    labels: { app: 'web' },
    containers: [
      { name: 'app', image: toContainerImage(`registry.example/team/app:${imageN}`, digestOf(imageN)) },
    ],
    status: 'RUNNING',
    ...overrides,
  };
}

export function added(
  sourceId: string,
  object: ClusterObject,
  type: 'ADDED' | 'MODIFIED' = 'ADDED',
): WatchEvent<ClusterObject> {
  return { type, sourceId, key: objectKey(object), object };
}

export function deleted(
  sourceId: string,
  object: ClusterObject,
  tombstone = false,
): WatchEvent<ClusterObject> {
  return { type: 'DELETED', sourceId, key: objectKey(object), object, tombstone };
}

export function writeToken(dir: string, token: string, name = 'token'): string {
  const file = join(dir, name);
  writeFileSync(file, `${token}\n`);
  return file;
}

export function consoleConfig(
  address: string,
  tokenFile: string,
  overrides: Partial<ConsoleConfig> = {},
): ConsoleConfig {
  return {
    address,
    tls: { mode: 'plaintext' },
    tokenFile,
    batchMaxItems: 50,
    batchMaxDelayMs: 5,
    rpcDeadlineMs: 2_000,
    outboxMaxBytes: 64 * 1024 * 1024,
    ...overrides,
  };
}

export interface ClientRig {
  db: StateDatabase;
  client: ConsoleClient;
  metrics: CoreMetrics;
  log: CapturedLogger;
}

export function clientRig(
  stateDir: string,
  config: ConsoleConfig,
  extra: Partial<Omit<ConsoleClientDeps, 'db' | 'logger' | 'metrics'>> = {},
): ClientRig {
  const log = captureLogger();
  const metrics = newMetrics();
  const db = openStateDatabase(stateDir, { logger: log.logger, metrics, maxBytes: config.outboxMaxBytes });
  const client = new ConsoleClient(config, {
    db,
    logger: log.logger,
    metrics,
    heartbeatIntervalMs: 50,
    backoff: { initialMs: 10, capMs: 50 },
    tokenPollMs: 10,
    ...extra,
  });
  return { db, client, metrics, log };
}

/** Polls `fn` until it returns true (loopback I/O), failing after `timeoutMs`. */
export async function until(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A virtual clock advanced one due action at a time, letting I/O continuations run in between. */
export function virtualClock() {
  const scheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const advance = async (ms: number) => {
    const target = scheduler.frame + ms;
    await settle();
    for (;;) {
      const next = scheduler.actions[0];
      if (!next || next.delay > target) break;
      scheduler.maxFrames = next.delay;
      scheduler.flush();
      await settle();
    }
    scheduler.maxFrames = Number.POSITIVE_INFINITY;
    if (scheduler.frame < target) scheduler.frame = target;
    await settle();
  };
  return { scheduler, advance };
}

export interface Recorder {
  address: string;
  /** Batch ids of every ReportSightings call accepted, in arrival order. */
  acceptedBatchIds: string[];
  /** Every sighting the console accepted, in arrival order. */
  accepted: WorkloadSighting[];
  /** Sizes of the ReportSightings batches received (accepted or not). */
  batches: number[];
  /** How the next ReportSightings call is answered (default: reject if any workload name starts with "poison"). */
  mode: 'poison' | 'reject-all' | 'permission-denied' | 'accept-all';
  rejectDetails: string;
  /** ReportSightings calls (1-based, counting every call) answered UNAVAILABLE instead. */
  unavailableCalls: Set<number>;
  /** Heartbeat: reject a batch naming a controller "poison*" (default), or every batch. */
  heartbeatMode: 'poison' | 'reject-all';
  /** Sizes of the Heartbeat batches received (accepted or not). */
  heartbeatBatches: number[];
  /** `cluster/controller` of every heartbeat pair accepted. */
  acceptedActivity: string[];
  stop(): Promise<void>;
}

/** A test console on loopback: real AgentService paths and decoding; records what it accepts. */
export async function startRecordingConsole(): Promise<Recorder> {
  const server = new grpc.Server();
  const rec: Recorder = {
    address: '',
    acceptedBatchIds: [],
    accepted: [],
    batches: [],
    mode: 'poison',
    rejectDetails: 'a sighting is invalid',
    unavailableCalls: new Set(),
    heartbeatMode: 'poison',
    heartbeatBatches: [],
    acceptedActivity: [],
    stop: () => new Promise<void>((r) => server.tryShutdown(() => r())),
  };
  const ok = (batchId: string, n: number): WriteReply => ({
    batch_id: batchId,
    accepted: n,
    duplicate: false,
  });
  const accept: grpc.handleUnaryCall<{ batch_id: string }, WriteReply> = (call, cb) =>
    cb(null, ok(call.request.batch_id, 0));
  const report: grpc.handleUnaryCall<ReportSightingsRequest, WriteReply> = (call, cb) => {
    const items = call.request.sightings.flatMap((s) => ('workload' in s ? [s.workload] : []));
    rec.batches.push(items.length);
    if (rec.unavailableCalls.has(rec.batches.length)) {
      cb({ code: grpc.status.UNAVAILABLE, details: 'try again' });
      return;
    }
    const reject =
      rec.mode === 'reject-all' || (rec.mode === 'poison' && items.some((w) => w.name.startsWith('poison')));
    if (rec.mode === 'permission-denied') {
      cb({ code: grpc.status.PERMISSION_DENIED, details: 'agent may not report here' });
      return;
    }
    if (reject) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: rec.rejectDetails });
      return;
    }
    rec.accepted.push(...items);
    rec.acceptedBatchIds.push(call.request.batch_id);
    cb(null, ok(call.request.batch_id, items.length));
  };
  const heartbeat: grpc.handleUnaryCall<HeartbeatRequest, WriteReply> = (call, cb) => {
    const pairs = call.request.activities;
    rec.heartbeatBatches.push(pairs.length);
    if (rec.heartbeatMode === 'reject-all' || pairs.some((a) => a.controller_name.startsWith('poison'))) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: 'an activity is invalid' });
      return;
    }
    rec.acceptedActivity.push(...pairs.map((a) => `${a.cluster_id}/${a.controller_name}`));
    cb(null, ok(call.request.batch_id, pairs.length));
  };
  server.addService(serviceDefinitions().agent, {
    RegisterClusters: accept,
    ReportSightings: report,
    Heartbeat: heartbeat,
    DeregisterClusters: accept,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  rec.address = `127.0.0.1:${port}`;
  return rec;
}

/** Delivers a burst through `ConsoleSink.handle`, in order, in ONE state database transaction (all or nothing). */
export function handleBurst(
  db: StateDatabase,
  sink: ConsoleSink,
  events: readonly WatchEvent<ClusterObject>[],
): void {
  db.transaction(() => {
    for (const e of events) sink.handle(e);
  });
}
