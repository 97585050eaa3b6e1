/**
 * The state disk and liveness, on a real Daemon (ECS emulator, reference console, real HTTP on
 * loopback) driven by a virtual clock:
 * - a console down for a long time keeps /livez 200 while /healthz is 503 with the reason; a
 *   stalled event loop fails /livez;
 * - a full disk (SQLite max_page_count: every new page is refused with SQLITE_FULL) does not crash
 *   the daemon: the watch pipeline pauses and retries with backoff, /healthz says why (with the
 *   path), a metric counts it, and once space returns it resumes by itself and the console shows
 *   exactly the current state (nothing accepted was lost);
 * - a read-only database (query_only: SQLITE_READONLY) never throws out of activity recording,
 *   and the activity is written once the database accepts writes again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { parseConfig } from '../../src/config/load.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { fetchRecords } from '../../src/console/views.js';
import { ConsoleSink } from '../../src/console/sink.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import { openStateDatabase, STATE_DB_FILE } from '../../src/state/database.js';
import { captureLogger, tempDir, virtualClock, writeToken } from '../console/helpers.js';

const TOKEN = 'faults-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface HttpBody {
  checks: Record<string, { ok: boolean; reason?: string }>;
}

interface Rig {
  daemon: Daemon;
  ecs: EcsEmulator;
  clock: ReturnType<typeof virtualClock>;
  raw: () => SqliteDatabase;
  get: (path: string) => Promise<{ status: number; body: HttpBody }>;
  stateDir: string;
  metric: (name: string, labels: Record<string, string>) => Promise<number>;
}

async function startRig(dir: string, consoleAddress: string): Promise<Rig> {
  const ecs = await startEcsEmulator();
  cleanups.push(() => ecs.stop());
  const td = ecs.fleet.registerTaskDefinition({
    family: 'web',
    containers: [{ name: 'app', image: 'registry.example/team/web:1' }],
  });
  ecs.fleet.createCluster({ name: 'prod' });
  ecs.fleet.runTask({ cluster: 'prod', taskDefinition: td.arn, count: 2 });
  const tokenFile = writeToken(dir, TOKEN);
  const stateDir = join(dir, 'state');
  const config = parseConfig(
    `tenant: { group: g, issuer: "https://issuer.example" }
providers:
  ecs:
    account: "123456789012"
    regions: [us-east-1]
    credentials: { source: static, accessKeyId: "\${FAULTS_KEY}", secretAccessKey: "\${FAULTS_SECRET}" }
    endpoints: { ecs: "${ecs.endpoint}", cloudtrail: "${ecs.endpoint}" }
    taskPollIntervalMs: 1000
intervals: { clusterPollIntervalMs: 1000, heartbeatIntervalMs: 1000 }
console: { address: "${consoleAddress}", tls: { mode: plaintext }, tokenFile: "${tokenFile}", batchMaxItems: 1, rpcDeadlineMs: 2000 }
stateDir: "${stateDir}"
http: { listen: "127.0.0.1:0" }
`,
    join(dir, 'config.yaml'),
    { env: { FAULTS_KEY: 'AKIDFAULTS', FAULTS_SECRET: 'faults-secret' } },
  );
  const clock = virtualClock();
  let raw: SqliteDatabase | undefined;
  const registry = createRegistry(false);
  const daemon = new Daemon(config, {
    logger: captureLogger('silent').logger,
    registry,
    agentVersion: '0.0.0-test',
    scheduler: clock.scheduler,
    onStateDatabaseOpen: (db) => {
      raw = db;
    },
  });
  cleanups.push(() => daemon.stop(200));
  await daemon.start();
  return {
    daemon,
    ecs,
    clock,
    stateDir,
    raw: () => {
      if (raw === undefined) throw new Error('state database not open');
      return raw;
    },
    get: async (path) => {
      const res = await fetch(`http://127.0.0.1:${daemon.httpPort ?? 0}${path}`);
      return { status: res.status, body: (await res.json()) as HttpBody };
    },
    metric: async (name, labels) => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      let sum = 0;
      for (const v of m?.values ?? []) {
        const l = v.labels as Record<string, string | number>;
        if (Object.entries(labels).every(([k, val]) => l[k] === val)) sum += v.value;
      }
      return sum;
    },
  };
}

/** Advances virtual time in 1 s steps (letting loopback I/O run) until `fn` holds. */
async function advanceUntil(
  rig: Rig,
  fn: () => boolean | Promise<boolean>,
  what: string,
  maxSteps = 600,
): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (await fn()) return;
    await rig.clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`not reached after ${maxSteps} virtual seconds: ${what}`);
}

async function startConsole(): Promise<ReferenceConsole> {
  const c = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: ':memory:', token: TOKEN });
  cleanups.push(() => c.stop());
  return c;
}

/** Live task uids in the console's records view. */
async function liveTasks(address: string): Promise<string[]> {
  const records = await fetchRecords(address, { token: TOKEN, plaintext: true });
  const uids = new Set<string>();
  for (const r of records)
    for (const w of r.workloads) if (w.current && w.kind.kind === 'Pod') uids.add(w.uid);
  return [...uids].sort();
}

describe('liveness is not health', () => {
  it('keeps /livez 200 through a long console outage while /healthz is 503 with the reason; a stalled loop fails /livez', async () => {
    const t = tempDir('sl-live-');
    cleanups.push(t.cleanup);
    // Nothing listens on port 1: every push fails at once (connection refused).
    const rig = await startRig(t.dir, '127.0.0.1:1');
    await advanceUntil(rig, () => rig.daemon.health.readiness().ready, 'sources synced');
    // Ten virtual minutes of outage: far past the probes' 2 minutes.
    for (let i = 0; i < 60; i++) await rig.clock.advance(10_000);
    const health = await rig.get('/healthz');
    expect(health.status).toBe(503);
    expect(health.body.checks['console']?.reason).toMatch(/console unreachable after \d+ attempts/);
    expect(health.body.checks['state']).toEqual({ ok: true });
    const live = await rig.get('/livez');
    expect(live.status).toBe(200);
    expect(live.body.checks).toEqual({ eventLoop: { ok: true }, state: { ok: true } });
    expect(Object.keys(live.body.checks)).not.toContain('console');

    // The clock moves on but no timer runs: the event loop no longer turns.
    rig.clock.scheduler.frame += 60_000;
    const stalled = await rig.get('/livez');
    expect(stalled.status).toBe(503);
    expect(stalled.body.checks['eventLoop']?.reason).toMatch(/event loop stalled: no timer tick for \d+ ms/);
  });
});

describe('a full disk', () => {
  it('pauses and retries instead of crashing, says why, and recovers by itself with nothing lost', async () => {
    const t = tempDir('sl-full-');
    cleanups.push(t.cleanup);
    const console_ = await startConsole();
    const rig = await startRig(t.dir, console_.address);
    await advanceUntil(
      rig,
      async () => (await liveTasks(console_.address)).length === 2,
      'first tasks on the console',
    );

    // Fill the database: no new page can be allocated (SQLITE_FULL), as on a full volume.
    const raw = rig.raw();
    raw.exec('CREATE TABLE IF NOT EXISTS filler (x BLOB)');
    raw.pragma(`max_page_count = ${Number(raw.pragma('page_count', { simple: true }))}`);
    const fill = raw.prepare('INSERT INTO filler (x) VALUES (?)');
    expect(() => {
      for (;;) fill.run(Buffer.alloc(1024));
    }).toThrow(/full/);

    // Changes keep coming: three tasks start, one stops.
    const td = rig.ecs.fleet.allTaskDefinitions()[0];
    if (td === undefined) throw new Error('no task definition');
    const started = rig.ecs.fleet.runTask({ cluster: 'prod', taskDefinition: td.arn, count: 3 });
    const [first] = await liveTasks(console_.address);
    rig.ecs.fleet.stopTask({ cluster: 'prod', task: first ?? '' });
    await advanceUntil(
      rig,
      () => rig.daemon.stateDatabase?.writeHealth.failure !== undefined,
      'a refused write',
    );

    const health = await rig.get('/healthz');
    expect(health.status).toBe(503);
    const reason = health.body.checks['state']?.reason ?? '';
    expect(reason).toContain('disk full (SQLITE_FULL)');
    expect(reason).toContain(join(rig.stateDir, STATE_DB_FILE));
    expect(reason).not.toContain(TOKEN);
    expect(await rig.metric('sightline_state_write_failures_total', { reason: 'disk_full' })).toBeGreaterThan(
      0,
    );
    // Not a reason to restart (yet): the disk may free up.
    expect((await rig.get('/livez')).status).toBe(200);
    // Space returns.
    raw.pragma('max_page_count = 1073741823');
    await advanceUntil(
      rig,
      () => rig.daemon.stateDatabase?.writeHealth.failure === undefined,
      'writable again',
    );
    const want = [
      ...started.map((s) => s.arn),
      ...(await liveTasks(console_.address)).filter((u) => u !== first),
    ]
      .filter((u, i, a) => a.indexOf(u) === i)
      .sort();
    await advanceUntil(
      rig,
      async () => JSON.stringify(await liveTasks(console_.address)) === JSON.stringify(want),
      'the console shows the current tasks',
    );
    expect(await liveTasks(console_.address)).toHaveLength(4);
    expect(await liveTasks(console_.address)).not.toContain(first);
    expect((await rig.get('/healthz')).status).toBe(200);
  });
});

describe('a read-only database', () => {
  it('never throws out of activity recording, reports read-only, and writes the activity once writable', async () => {
    const t = tempDir('sl-ro-');
    cleanups.push(t.cleanup);
    const log = captureLogger();
    let raw: SqliteDatabase | undefined;
    const clock = virtualClock();
    const db = openStateDatabase(t.dir, {
      logger: log.logger,
      nowMs: () => clock.scheduler.now(),
      onOpen: (d) => {
        raw = d;
      },
    });
    cleanups.push(() => db.close());
    const sink = new ConsoleSink(db, { logger: log.logger, scheduler: clock.scheduler });
    raw?.pragma('query_only = 1');
    const activity = (ms: number) => ({
      clusterId: 'c1',
      controllerName: 'ctl',
      profile: 'observer' as const,
      lastSeenMs: ms,
    });
    expect(() => sink.activity(activity(1_000))).not.toThrow();
    expect(() => sink.activity(activity(2_000))).not.toThrow();
    expect(db.writeHealth.describe()).toMatch(/read-only \(SQLITE_READONLY\) at .*sightline\.db/);
    expect(db.activity.pendingCount()).toBe(0);
    await clock.advance(60_000); // retries keep failing, quietly
    expect(db.activity.pendingCount()).toBe(0);
    raw?.pragma('query_only = 0');
    await clock.advance(60_000);
    expect(db.writeHealth.failure).toBeUndefined();
    expect(db.activity.pending(10)).toEqual([activity(2_000)]);
    expect(log.text()).toContain('state database writable again');
  });
});
