/**
 * Console benchmark: outbox append rate (ConsoleSink.handle, one durable transaction per event; with
 * task ids in order, and random as real ECS task ids are),
 * sustained sightings per second into the reference console over loopback gRPC (client + server
 * both persisting to SQLite), RPCs per minute for a quiet fleet of 10,000 workloads (heartbeats
 * only) and protobuf bytes on the wire per workload sighting. Progress goes to stderr; runs < 60 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSection } from './report.js';
import { createLogger } from '../src/runtime/logger.js';
import { CoreMetrics, createRegistry } from '../src/runtime/metrics.js';
import { openStateDatabase } from '../src/state/database.js';
import { ConsoleSink } from '../src/console/sink.js';
import { ConsoleClient } from '../src/console/client.js';
import { startReferenceConsole } from '../src/console/server/reference-console.js';
import { serializeRequest } from '../src/console/proto.js';
import type { ReportSightingsRequest, Sighting } from '../src/console/wire-types.js';
import { toWorkloadSighting } from '../src/console/wire-mapping.js';
import { objectHash, toContainerImage } from '../src/model/index.js';
import type { Cluster, ClusterObject, Workload } from '../src/model/index.js';
import type { WatchEvent } from '../src/watch/events.js';

const TOKEN = 'bench-token-0123456789';
const HEARTBEAT_INTERVAL_PROD_MS = 10_000;

function progress(msg: string): void {
  process.stderr.write(`[bench/console] ${msg}\n`);
}

function cluster(n: number): Cluster {
  return {
    id: `bench-cluster-${n}`,
    provider: 'ECS',
    remoteId: `arn:aws:ecs:us-east-1:123456789012:cluster/bench-${n}`,
    name: `bench-${n}`,
    region: 'us-east-1',
    account: '123456789012',
    group: 'bench',
    issuer: 'https://issuer.example',
    platformVersion: '1.4.0',
    agentVersion: '0.1.0',
    labels: { env: 'bench' },
    metadata: { status: 'ACTIVE' },
  };
}

/** Task id n as 32 hex digits: in order, or scattered (a fixed permutation) like real ECS task ids. */
function taskId(n: number, scattered: boolean): string {
  const id = scattered ? (Math.imul(n + 1, 2654435761) >>> 0) * 4096 + (n % 4096) : n;
  return id.toString(16).padStart(32, '0');
}

/** A typical ECS task: one container with a digest-pinned ECR image, a few labels, an owner. */
function workload(c: Cluster, n: number, rev = 0, scattered = false): Workload {
  const digest = `sha256:${(n * 7919 + rev).toString(16).padStart(64, '0')}`;
  return {
    clusterId: c.id,
    uid: `arn:aws:ecs:us-east-1:123456789012:task/${c.name}/${taskId(n, scattered)}`,
    kind: 'Pod',
    nativeKind: 'ecs.amazonaws.com/Task',
    namespace: `service-${n % 50}`,
    name: `task-${n}`,
    owners: [{ kind: 'Deployment', name: `service-${n % 50}`, uid: `svc-${n % 50}` }],
    labels: { app: `app-${n % 50}`, team: 'payments' },
    containers: [
      {
        name: 'app',
        image: toContainerImage(`123456789012.dkr.ecr.us-east-1.amazonaws.com/app-${n % 50}:v${rev}`, digest),
      },
    ],
    status: 'RUNNING',
  };
}

/** An event as the watch engine delivers it: with the hash it computed (built before any timing). */
function event(c: Cluster, n: number, rev: number, scattered = false): WatchEvent<ClusterObject> {
  const w = workload(c, n, rev, scattered);
  const object: ClusterObject = { kind: 'workload', workload: w };
  return {
    type: rev === 0 ? 'ADDED' : 'MODIFIED',
    sourceId: `tasks/${c.id}`,
    key: w.uid,
    object,
    hash: objectHash(object),
  };
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function quietFleet(
  dir: string,
  address: string,
  tokenFile: string,
  logger: ReturnType<typeof createLogger>,
) {
  const workloads = 10_000;
  const clusterCount = 50;
  const controllersPerCluster = 2;
  const scale = 40;
  const intervalMs = HEARTBEAT_INTERVAL_PROD_MS / scale;
  const windowMs = 4_000;
  const metrics = new CoreMetrics(createRegistry(false));
  const db = openStateDatabase(join(dir, 'quiet-state'), { logger, metrics });
  const sink = new ConsoleSink(db, { logger });
  const clusters = Array.from({ length: clusterCount }, (_, i) => cluster(1000 + i));
  db.transaction(() =>
    clusters
      .map((c): WatchEvent<ClusterObject> => ({
        type: 'ADDED',
        sourceId: 'clusters',
        key: c.remoteId,
        object: { kind: 'cluster', cluster: c },
      }))
      .forEach((e) => sink.handle(e)),
  );
  const events: WatchEvent<ClusterObject>[] = [];
  for (let i = 0; i < workloads; i++) events.push(event(clusters[i % clusterCount] as Cluster, i, 0));
  db.transaction(() => events.forEach((e) => sink.handle(e)));
  const client = new ConsoleClient(
    {
      address,
      tls: { mode: 'plaintext' },
      tokenFile,
      batchMaxItems: 500,
      batchMaxDelayMs: 50,
      rpcDeadlineMs: 10_000,
      outboxMaxBytes: 512 << 20,
    },
    { db, logger, metrics, heartbeatIntervalMs: intervalMs },
  );
  client.start();
  await waitFor(() => db.outbox.count === 0, 20_000);
  const pushed = () => metrics.consolePush.get().then((m) => m.values.reduce((s, v) => s + v.value, 0));
  const before = await pushed();
  progress(
    `quiet fleet: ${workloads} workloads on ${clusterCount} clusters delivered; ${clusterCount * controllersPerCluster} controllers polling twice per ${intervalMs} ms interval for ${windowMs} ms`,
  );
  const tick = setInterval(() => {
    const now = Date.now();
    for (const c of clusters) {
      for (let k = 0; k < controllersPerCluster; k++)
        sink.activity({ clusterId: c.id, controllerName: `ctl-${k}`, profile: 'observer', lastSeenMs: now });
    }
  }, intervalMs / 2);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  clearInterval(tick);
  const elapsed = performance.now() - t0;
  const rpcs = (await pushed()) - before;
  await client.stop(2_000);
  db.close();
  const intervals = elapsed / intervalMs;
  return {
    rpcsPerMinute: (rpcs / intervals) * (60_000 / HEARTBEAT_INTERVAL_PROD_MS),
    note:
      `quiet fleet: ${workloads} workloads on ${clusterCount} clusters, ${clusterCount * controllersPerCluster} (cluster, controller) pairs reporting twice per heartbeat interval; ` +
      `${rpcs} RPCs in ${intervals.toFixed(1)} intervals (interval scaled ${scale}x down to ${intervalMs} ms), expressed per minute at the default ${HEARTBEAT_INTERVAL_PROD_MS} ms interval`,
  };
}

export async function run(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'sl-bench-console-'));
  const logger = createLogger({ level: 'error', pretty: false });
  const notes: string[] = [];
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN);
  const server = await startReferenceConsole({
    listen: '127.0.0.1:0',
    dbFile: join(dir, 'console.db'),
    token: TOKEN,
  });
  try {
    const metrics = new CoreMetrics(createRegistry(false));
    const db = openStateDatabase(join(dir, 'state'), { logger, metrics });
    const sink = new ConsoleSink(db, { logger });
    const clusters = Array.from({ length: 20 }, (_, i) => cluster(i));
    for (const c of clusters)
      sink.handle({
        type: 'ADDED',
        sourceId: 'clusters',
        key: c.remoteId,
        object: { kind: 'cluster', cluster: c },
      });

    // 1a. Outbox append rate, one event per ConsoleSink.handle (snapshot + outbox in one durable transaction each).
    const perEvent = 40_000;
    progress(`appending ${perEvent} workload events, one ConsoleSink.handle each`);
    const addEvents = Array.from({ length: perEvent }, (_, i) =>
      event(clusters[i % clusters.length] as Cluster, i, 0),
    );
    let t0 = performance.now();
    for (const e of addEvents) sink.handle(e);
    const handleRate = perEvent / ((performance.now() - t0) / 1000);
    progress(`handle: ${handleRate.toFixed(0)} records/s`);

    // 1b. The same through ConsoleSink.handle in bursts of 250, one transaction per burst: MODIFIED events.
    const burst = 250;
    progress(`appending ${perEvent} MODIFIED events through ConsoleSink.handle (${burst} per transaction)`);
    const bursts: WatchEvent<ClusterObject>[][] = [];
    for (let i = 0; i < perEvent; i += burst) {
      bursts.push(
        Array.from({ length: burst }, (_, k) =>
          event(clusters[(i + k) % clusters.length] as Cluster, i + k, 1),
        ),
      );
    }
    t0 = performance.now();
    for (const b of bursts) db.transaction(() => b.forEach((e) => sink.handle(e)));
    const batchRate = perEvent / ((performance.now() - t0) / 1000);
    progress(`bursts: ${batchRate.toFixed(0)} records/s`);

    // 1c. As 1a, with task ids scattered over the key space as real ones are (inserts land anywhere
    // in the snapshot's index rather than at the end of each cluster's range), in a database of its own.
    progress(`appending ${perEvent} workload events with scattered task ids, one ConsoleSink.handle each`);
    const scatteredDb = openStateDatabase(join(dir, 'state-scattered'), {
      logger,
      metrics: new CoreMetrics(createRegistry(false)),
    });
    const scatteredSink = new ConsoleSink(scatteredDb, { logger });
    const scatteredEvents = Array.from({ length: perEvent }, (_, i) =>
      event(clusters[i % clusters.length] as Cluster, i, 0, true),
    );
    t0 = performance.now();
    for (const e of scatteredEvents) scatteredSink.handle(e);
    const scatteredRate = perEvent / ((performance.now() - t0) / 1000);
    scatteredDb.close();
    progress(`handle, scattered ids: ${scatteredRate.toFixed(0)} records/s`);

    // 2. Sustained sightings into the reference console: drain the full outbox over loopback.
    const pending = db.outbox.count;
    const client = new ConsoleClient(
      {
        address: server.address,
        tls: { mode: 'plaintext' },
        tokenFile,
        batchMaxItems: 500,
        batchMaxDelayMs: 50,
        rpcDeadlineMs: 10_000,
        outboxMaxBytes: 512 << 20,
      },
      { db, logger, metrics, heartbeatIntervalMs: 60_000 },
    );
    progress(`draining ${pending} outbox records to the reference console`);
    t0 = performance.now();
    client.start();
    const drained = await waitFor(() => db.outbox.count === 0, 40_000);
    const drainSec = (performance.now() - t0) / 1000;
    const sightingsRate = (pending - db.outbox.count) / drainSec;
    if (!drained)
      notes.push(`drain did not finish: ${db.outbox.count} records left after ${drainSec.toFixed(1)} s`);
    progress(`sightings: ${sightingsRate.toFixed(0)}/s`);
    await client.stop(5_000);
    db.close();

    // 3. Quiet fleet: heartbeats only.
    const quiet = await quietFleet(dir, server.address, tokenFile, logger);
    notes.push(quiet.note);
    progress(`quiet fleet: ${quiet.rpcsPerMinute.toFixed(1)} RPCs/min`);

    // 4. Bytes on the wire per sighting (protobuf body of a full batch + 5-byte gRPC message prefix).
    const c0 = clusters[0] as Cluster;
    const now = Date.now();
    const sightings: Sighting[] = [];
    for (let i = 0; i < 500; i++) {
      const w = workload(c0, i, 1);
      sightings.push({
        workload: toWorkloadSighting(w, { firstSeenMs: now, lastSeenMs: now }, () => ({
          firstSeenMs: now,
          lastSeenMs: now,
        })),
      });
    }
    const req: ReportSightingsRequest = { batch_id: '0123456789abcdef-1-500', sightings };
    const bytesPerSighting =
      (serializeRequest('agent', 'ReportSightings', req).length + 5) / sightings.length;
    notes.push(
      'bytes per sighting: a typical ECS task (1 container, digest-pinned ECR image, 2 labels, 1 owner); HTTP/2 framing adds ~9 bytes per 16 KiB frame',
    );

    return {
      name: 'console',
      figures: [
        {
          metric: 'outbox append rate, ConsoleSink.handle (1 durable txn per event)',
          value: Math.round(handleRate),
          unit: 'records/s',
          target: '≥ 20000',
          pass: handleRate >= 20_000,
        },
        {
          metric: 'outbox append rate, ConsoleSink.handle, scattered task ids (as real ones)',
          value: Math.round(scatteredRate),
          unit: 'records/s',
          target: '≥ 20000',
          pass: scatteredRate >= 20_000,
        },
        {
          metric: 'outbox append rate, ConsoleSink.handle in 250-event transactions',
          value: Math.round(batchRate),
          unit: 'records/s',
          target: '≥ 20000',
          pass: batchRate >= 20_000,
        },
        {
          metric: 'sustained sightings into reference console (loopback)',
          value: Math.round(sightingsRate),
          unit: 'sightings/s',
          target: '≥ 10000',
          pass: sightingsRate >= 10_000,
        },
        {
          metric: 'RPCs per minute, quiet fleet of 10,000 workloads',
          value: Number(quiet.rpcsPerMinute.toFixed(1)),
          unit: 'RPC/min',
        },
        {
          metric: 'bytes on the wire per workload sighting',
          value: Math.round(bytesPerSighting),
          unit: 'bytes',
        },
      ],
      notes,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && /bench[\\/]console\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  run()
    .then((section) => process.stdout.write(JSON.stringify(section, null, 2) + '\n'))
    .catch((err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exitCode = 1;
    });
}
