/**
 * Items the console rejects (INVALID_ARGUMENT): the client splits a rejected batch, delivers every
 * good row, moves the rejected one to outbox_rejected and goes on at once. The client runs on a
 * virtual clock that the tests do not advance unless they say so: any cooldown or backoff would
 * stall delivery, so "it drained" also proves "it did not wait".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConsoleSink } from '../../src/console/sink.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { fetchClusters, fetchRecords } from '../../src/console/views.js';
import type { ConsoleClientDeps } from '../../src/console/client.js';
import type { WorkloadSighting } from '../../src/console/wire-types.js';
import type { ClusterObject, Workload } from '../../src/model/index.js';
import type { WatchEvent } from '../../src/watch/events.js';
import type { ConsoleConfig } from '../../src/config/schema.js';
import { STATE_DB_FILE } from '../../src/state/database.js';
import {
  clientRig,
  consoleConfig,
  digestOf,
  handleBurst,
  makeCluster,
  makeWorkload,
  metricValue,
  startRecordingConsole,
  tempDir,
  until,
  virtualClock,
  writeToken,
} from './helpers.js';
import type { ClientRig, Recorder } from './helpers.js';

const TOKEN = 'reject-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Rig = ClientRig & {
  sink: ConsoleSink;
  clock: ReturnType<typeof virtualClock>;
  /** Stops the client and closes the database (also done after the test). */
  close: () => Promise<void>;
};

function workDir(): string {
  const t = tempDir('sl-reject-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A client (virtual time, sends at once: batchMaxDelayMs 0) and a sink on a state database in `dir`. */
function rigAt(
  dir: string,
  address: string,
  config: Partial<ConsoleConfig> = {},
  extra: Partial<Omit<ConsoleClientDeps, 'db' | 'logger' | 'metrics' | 'scheduler'>> = {},
): Rig {
  const clock = virtualClock();
  const stateDir = join(dir, 'state');
  const rig = clientRig(
    stateDir,
    consoleConfig(address, writeToken(dir, TOKEN), { batchMaxItems: 500, batchMaxDelayMs: 0, ...config }),
    { scheduler: clock.scheduler, ...extra },
  );
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const stopped = rig.client.stop(1_000);
    clock.scheduler.flush(); // the stop deadline, on virtual time
    await stopped;
    rig.db.close();
  };
  cleanups.push(close);
  const sink = new ConsoleSink(rig.db, { logger: rig.log.logger, scheduler: clock.scheduler });
  return { ...rig, sink, clock, close };
}

async function referenceConsole(): Promise<ReferenceConsole> {
  const c = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: ':memory:', token: TOKEN });
  cleanups.push(() => c.stop());
  return c;
}

const view = { token: TOKEN, plaintext: true };
const wl = (w: Workload): ClusterObject => ({ kind: 'workload', workload: w });
const upsert = (
  key: string,
  w: Workload,
  type: 'ADDED' | 'MODIFIED' = 'ADDED',
): WatchEvent<ClusterObject> => ({
  type,
  sourceId: 't',
  key,
  object: wl(w),
});
const drained = (rig: ClientRig, what = 'outbox drained') =>
  until(() => rig.db.outbox.count === 0, 15_000, what);
const pushes = (rig: ClientRig, labels: Record<string, string>) =>
  metricValue(rig.metrics, 'sightline_console_push_total', labels);
const rejectedItems = (rig: ClientRig, rpc: string) =>
  metricValue(rig.metrics, 'sightline_console_rejected_items_total', { rpc });

/** The reference console rejects a workload sighting without a cluster id. */
const poisoned = (c: ReturnType<typeof makeCluster>, n: number): Workload =>
  makeWorkload(c, n, n, { clusterId: '' });

function registerCluster(rig: Rig, c: ReturnType<typeof makeCluster>): void {
  rig.sink.handle({ type: 'ADDED', sourceId: 'clusters', key: 'c', object: { kind: 'cluster', cluster: c } });
}

describe('a batch with rejected items (reference console)', () => {
  it('delivers the good rows of a batch with one poisoned row, sets that row aside, and keeps flowing', async () => {
    const server = await referenceConsole();
    const rig = rigAt(workDir(), server.address);
    rig.client.start();
    const c = makeCluster(1);
    registerCluster(rig, c);
    await drained(rig, 'registration');
    // 200 sightings in one transaction, so one batch of 200 with row 117 poisoned.
    handleBurst(
      rig.db,
      rig.sink,
      Array.from({ length: 200 }, (_, k) => upsert(`w${k}`, k === 117 ? poisoned(c, k) : makeWorkload(c, k))),
    );
    await drained(rig, 'the batch with a poisoned row');

    expect((await fetchClusters(server.address, view))[0]?.workloads).toBe(199);
    const digests = new Set((await fetchRecords(server.address, view)).map((r) => r.image.digest));
    expect(digests.size).toBe(199);
    expect(digests.has(digestOf(117))).toBe(false);

    const rejected = rig.db.outbox.rejectedRows();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ rpc: 'sightings', key: 'workload//task-117', rejectedMs: 0 });
    expect(rejected[0]?.error).toMatch(
      /^ReportSightings failed: INVALID_ARGUMENT: ReportSightings: sightings\[0\]\.workload needs cluster_id and uid$/,
    );
    expect((JSON.parse(rejected[0]?.payload ?? '{}') as { workload: WorkloadSighting }).workload.uid).toBe(
      'task-117',
    );
    expect(await rejectedItems(rig, 'ReportSightings')).toBe(1);
    expect(await metricValue(rig.metrics, 'sightline_outbox_rejected_rows', {})).toBe(1);
    // Bisection: one rejected call per level, at most ceil(log2(200)) + 1.
    const rejectedCalls = await pushes(rig, { rpc: 'ReportSightings', outcome: 'invalid_argument' });
    expect(rejectedCalls).toBeGreaterThanOrEqual(2);
    expect(rejectedCalls).toBeLessThanOrEqual(9);
    const h = rig.client.health();
    expect(h).toMatchObject({ ok: true, pending: 0, rejected: 1, rejectedEvicted: 0 });
    expect(h.lastRejected).toMatchObject({
      seq: rejected[0]?.seq,
      rpc: 'sightings',
      key: 'workload//task-117',
      rejectedMs: 0,
    });
    expect(h.lastRejected?.reason).toMatch(/^ReportSightings failed: INVALID_ARGUMENT: /);
    expect(JSON.stringify(h)).not.toContain('payload');
    // No cooldown, no backoff: virtual time never moved.
    expect(rig.clock.scheduler.now()).toBe(0);

    const logs = rig.log.text();
    expect(logs).toMatch(/splitting it to isolate the rejected item/);
    const errorLine = rig.log.lines.find((l) => l.includes('moved it to outbox_rejected'));
    expect(JSON.parse(errorLine ?? '{}')).toMatchObject({
      level: 50,
      rpc: 'ReportSightings',
      key: 'workload//task-117',
    });
    expect(logs).not.toContain(TOKEN);

    // Later rows flow at once, including a good version of the rejected key.
    for (let k = 200; k < 205; k++) rig.sink.handle(upsert(`w${k}`, makeWorkload(c, k)));
    rig.sink.handle(upsert('w117', makeWorkload(c, 117, 1117), 'MODIFIED'));
    await drained(rig, 'rows after the rejection');
    expect((await fetchClusters(server.address, view))[0]?.workloads).toBe(205);
    expect(rig.db.outbox.rejectedCount).toBe(1);
    expect(rig.clock.scheduler.now()).toBe(0);
  });

  it('sets aside two poisoned rows, the first and the last of the batch', async () => {
    const server = await referenceConsole();
    const rig = rigAt(workDir(), server.address);
    const c = makeCluster(1);
    registerCluster(rig, c);
    handleBurst(
      rig.db,
      rig.sink,
      Array.from({ length: 64 }, (_, k) =>
        upsert(`w${k}`, k === 0 || k === 63 ? poisoned(c, k) : makeWorkload(c, k)),
      ),
    );
    rig.client.start();
    await drained(rig);
    expect((await fetchClusters(server.address, view))[0]?.workloads).toBe(62);
    expect(
      rig.db.outbox
        .rejectedRows()
        .map((r) => r.key)
        .reverse(),
    ).toEqual(['workload//task-0', 'workload//task-63']);
    expect(await rejectedItems(rig, 'ReportSightings')).toBe(2);
    expect(rig.client.health()).toMatchObject({ ok: true, rejected: 2 });
    expect(rig.clock.scheduler.now()).toBe(0);
  });

  it('sets aside a batch of one rejected row and sends what follows', async () => {
    const server = await referenceConsole();
    const rig = rigAt(workDir(), server.address);
    rig.client.start();
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'bad',
      object: { kind: 'cluster', cluster: makeCluster(1, { name: '' }) },
    });
    await until(() => rig.db.outbox.rejectedCount === 1, 10_000, 'the rejected registration');
    expect(rig.db.outbox.rejectedRows()[0]?.error).toMatch(
      /INVALID_ARGUMENT: RegisterClusters: clusters\[0\]\.name is required/,
    );
    expect(await pushes(rig, { rpc: 'RegisterClusters', outcome: 'invalid_argument' })).toBe(1);
    expect(await rejectedItems(rig, 'RegisterClusters')).toBe(1);
    expect(rig.client.health()).toMatchObject({ ok: true, pending: 0, rejected: 1 });

    registerCluster(rig, makeCluster(2));
    await drained(rig);
    expect((await fetchClusters(server.address, view)).map((x) => x.registration.name)).toEqual([
      'cluster-2',
    ]);
    expect(rig.clock.scheduler.now()).toBe(0);
  });

  it('keeps the rejected rows, and does not re-send them, after a restart', async () => {
    const server = await referenceConsole();
    const dir = workDir();
    const first = rigAt(dir, server.address);
    const c = makeCluster(1);
    registerCluster(first, c);
    handleBurst(
      first.db,
      first.sink,
      Array.from({ length: 10 }, (_, k) => upsert(`w${k}`, k === 4 ? poisoned(c, k) : makeWorkload(c, k))),
    );
    first.client.start();
    await drained(first);
    const kept = first.db.outbox.rejectedRows();
    expect(kept).toHaveLength(1);
    await first.close();

    const second = rigAt(dir, server.address);
    expect(second.db.openStatus.state).toBe('opened');
    expect(second.db.outbox.rejectedRows()).toEqual(kept);
    expect(second.client.health()).toMatchObject({ ok: true, pending: 0, rejected: 1 });
    expect(await metricValue(second.metrics, 'sightline_outbox_rejected_rows', {})).toBe(1);
    second.client.start();
    second.sink.handle(upsert('w10', makeWorkload(c, 10)));
    await drained(second);
    expect(await pushes(second, { rpc: 'ReportSightings' })).toBe(1);
    expect((await fetchClusters(server.address, view))[0]?.workloads).toBe(10);
  });
});

/** A recording test console, stopped after the test. */
async function recordingConsole(): Promise<Recorder> {
  const rec = await startRecordingConsole();
  cleanups.push(() => rec.stop());
  return rec;
}

describe('a batch with rejected items (test console)', () => {
  it('keeps the outbox order, per key and overall, around rejected rows', async () => {
    const rec = await recordingConsole();
    const rig = rigAt(workDir(), rec.address);
    const c = makeCluster(1);
    // Ten keys, four versions each, interleaved; some versions poisoned, two of them adjacent.
    const events: WatchEvent<ClusterObject>[] = [];
    const expected: string[] = [];
    const poison = new Set(['w3@1', 'w4@1', 'w7@0', 'w9@3']);
    for (let v = 0; v < 4; v++) {
      for (let k = 0; k < 10; k++) {
        const id = `w${k}@${v}`;
        const name = poison.has(id) ? `poison-${id}` : id;
        events.push(
          upsert(`w${k}`, makeWorkload(c, k, 100 * v + k, { name }), v === 0 ? 'ADDED' : 'MODIFIED'),
        );
        if (!poison.has(id)) expected.push(id);
      }
    }
    handleBurst(rig.db, rig.sink, events);
    rig.client.start();
    await drained(rig);

    expect(rec.accepted.map((w) => w.name)).toEqual(expected);
    for (let k = 0; k < 10; k++) {
      const versions = rec.accepted.filter((w) => w.uid === `task-${k}`).map((w) => w.name);
      expect(versions).toEqual(expected.filter((id) => id.startsWith(`w${k}@`)));
    }
    expect(rec.batches[0]).toBe(40);
    // Set aside in outbox order too (rejectedRows lists the newest first).
    const setAside = rig.db.outbox
      .rejectedRows()
      .reverse()
      .map((r) => (JSON.parse(r.payload) as { workload: WorkloadSighting }).workload.name);
    expect(setAside).toEqual(['poison-w7@0', 'poison-w3@1', 'poison-w4@1', 'poison-w9@3']);
    expect(await rejectedItems(rig, 'ReportSightings')).toBe(4);
    expect(rig.clock.scheduler.now()).toBe(0);
  });

  it('backs off on a transient error half-way through a split, then resumes without re-sending or reordering', async () => {
    const rec = await recordingConsole();
    // Call 1: the whole batch (rejected); 2: its first half (rejected); 3: the first quarter: UNAVAILABLE.
    rec.unavailableCalls = new Set([3]);
    const rig = rigAt(workDir(), rec.address);
    const c = makeCluster(1);
    const names = Array.from({ length: 32 }, (_, k) => (k === 12 ? 'poison-12' : `w${k}`));
    handleBurst(
      rig.db,
      rig.sink,
      names.map((name, k) => upsert(`w${k}`, makeWorkload(c, k, k, { name }))),
    );
    rig.client.start();
    await until(async () => (await pushes(rig, { outcome: 'unavailable' })) === 1, 10_000, 'the failure');
    expect(rig.db.outbox.count).toBe(32);
    expect(rec.batches.slice(0, 3)).toEqual([32, 16, 8]);
    await until(
      async () => {
        await rig.clock.advance(50); // past the backoff (rig: at most 50 ms)
        return rig.db.outbox.count === 0;
      },
      10_000,
      'delivery after the backoff',
    );
    expect(rec.accepted.map((w) => w.name)).toEqual(names.filter((n) => n !== 'poison-12'));
    expect(rig.db.outbox.rejectedRows().map((r) => r.key)).toEqual([`workload/${c.id}/task-12`]);
    expect(rig.client.health()).toMatchObject({ ok: true, rejected: 1 });
  });

  it('stores and logs the console message with secrets redacted', async () => {
    const rec = await recordingConsole();
    rec.rejectDetails = `bad item; request had authorization: Bearer ${TOKEN}`;
    const rig = rigAt(workDir(), rec.address);
    rig.sink.handle(upsert('w0', makeWorkload(makeCluster(1), 0, 0, { name: 'poison-0' })));
    rig.client.start();
    await drained(rig);
    const error = rig.db.outbox.rejectedRows()[0]?.error ?? '';
    expect(error).toMatch(/bad item; request had authorization: Bearer \[REDACTED\]/);
    expect(error).not.toContain(TOKEN);
    expect(JSON.stringify(rig.client.health().lastRejected)).not.toContain(TOKEN);
    expect(rig.log.text()).not.toContain(TOKEN);
  });

  it('stops setting rows aside when the console rejects everything, and resumes once it accepts', async () => {
    const rec = await recordingConsole();
    rec.mode = 'reject-all';
    const cooldown = 120_000;
    const rig = rigAt(
      workDir(),
      rec.address,
      {},
      { maxRejectedInARow: 3, permanentErrorCooldownMs: cooldown, tokenPollMs: 60_000 },
    );
    const c = makeCluster(1);
    handleBurst(
      rig.db,
      rig.sink,
      Array.from({ length: 10 }, (_, k) => upsert(`w${k}`, makeWorkload(c, k))),
    );
    rig.client.start();
    await until(() => rig.client.health().reason !== undefined, 10_000, 'the client to pause');
    const h = rig.client.health();
    expect(h).toMatchObject({ ok: false, pending: 7, rejected: 3 });
    expect(h.reason).toMatch(/rejected 3 items in a row on their own and accepted none/);
    expect(await rejectedItems(rig, 'ReportSightings')).toBe(3);

    // After the cooldown it tries again, and still sets nothing more aside.
    const calls = rec.batches.length;
    await rig.clock.advance(cooldown);
    await until(
      () => rec.batches.length > calls && rig.client.health().reason !== undefined,
      10_000,
      'retry',
    );
    expect(rig.db.outbox.count).toBe(7);
    expect(rig.db.outbox.rejectedCount).toBe(3);

    rec.mode = 'accept-all';
    await until(
      async () => {
        await rig.clock.advance(cooldown);
        return rig.db.outbox.count === 0;
      },
      10_000,
      'delivery once the console accepts',
    );
    expect(rec.accepted.map((w) => w.uid)).toEqual(Array.from({ length: 7 }, (_, k) => `task-${k + 3}`));
    expect(rig.client.health()).toMatchObject({ ok: true, rejected: 3 });
  });

  it('keeps the batch on PERMISSION_DENIED (cooldown), splitting nothing', async () => {
    const rec = await recordingConsole();
    rec.mode = 'permission-denied';
    const rig = rigAt(workDir(), rec.address, {}, { permanentErrorCooldownMs: 60_000 });
    const c = makeCluster(1);
    handleBurst(
      rig.db,
      rig.sink,
      Array.from({ length: 8 }, (_, k) =>
        upsert(`w${k}`, makeWorkload(c, k, k, k === 2 ? { name: 'poison' } : {})),
      ),
    );
    rig.client.start();
    await until(() => rig.client.health().reason !== undefined, 10_000, 'permission error');
    expect(rig.client.health()).toMatchObject({ ok: false, pending: 8, rejected: 0 });
    expect(rig.client.health().reason).toMatch(/PERMISSION_DENIED/);
    expect(rec.batches).toEqual([8]);
    expect(await rejectedItems(rig, 'ReportSightings')).toBe(0);
  });
});

/** Writes rows into the outbox of the (closed) state database under `dir`, after the last seq, as another program might. */
function plant(dir: string, rows: Array<{ rpc: string; key: string; payload: string }>): void {
  const raw = new Database(join(dir, 'state', STATE_DB_FILE));
  try {
    const max = (raw.prepare('SELECT coalesce(max(seq), 0) AS m FROM outbox').get() as { m: number }).m;
    const insert = raw.prepare(
      'INSERT INTO outbox (seq, rpc, key, payload, bytes, created_ms) VALUES (?, ?, ?, ?, ?, 0)',
    );
    rows.forEach((r, i) => insert.run(max + 1 + i, r.rpc, r.key, r.payload, Buffer.byteLength(r.payload)));
  } finally {
    raw.close();
  }
}

const setAside = (rig: ClientRig, rpc: string, reason: string) =>
  metricValue(rig.metrics, 'sightline_console_rejected_items_total', { rpc, reason });

describe('outbox rows this version cannot send', () => {
  it('sets aside, in order and with a reason, an unknown rpc and unreadable payloads; never sends or deletes them', async () => {
    const rec = await recordingConsole();
    const dir = workDir();
    const c = makeCluster(1);
    const seed = rigAt(dir, rec.address);
    handleBurst(
      seed.db,
      seed.sink,
      [0, 1, 2].map((k) => upsert(`w${k}`, makeWorkload(c, k))),
    );
    await seed.close();
    const planted = [
      { rpc: 'frobnicate', key: 'future/1', payload: '{"from":"a newer sightline"}' },
      { rpc: 'sightings', key: 'workload/c/garbage', payload: 'garbage SECRETISH text' },
      { rpc: 'sightings', key: 'workload/c/cut', payload: '{"workload": {"uid": "tru' },
      { rpc: 'sightings', key: 'workload/c/array', payload: '[1,2]' },
    ];
    plant(dir, planted);
    // maxRejectedInARow 1: rows the console never judged must not trip the reject-everything valve.
    const rig = rigAt(dir, rec.address, {}, { maxRejectedInARow: 1 });
    handleBurst(
      rig.db,
      rig.sink,
      [3, 4, 5].map((k) => upsert(`w${k}`, makeWorkload(c, k))),
    );
    rig.client.start();
    await drained(rig);

    // Good rows on either side went out in order, in two batches that stop at the bad rows.
    expect(rec.accepted.map((w) => w.name)).toEqual([
      'task-0',
      'task-1',
      'task-2',
      'task-3',
      'task-4',
      'task-5',
    ]);
    expect(rec.batches).toEqual([3, 3]);
    const kept = rig.db.outbox.rejectedRows().reverse();
    expect(kept.map((r) => [r.rpc, r.key, r.payload])).toEqual(planted.map((p) => [p.rpc, p.key, p.payload]));
    expect(kept.map((r) => r.error)).toEqual([
      'unknown rpc "frobnicate"',
      "unreadable payload: Unexpected token 'g' (not valid JSON)",
      'unreadable payload: Unterminated string in JSON at position 25',
      'unreadable payload: not a JSON object (an array)',
    ]);
    expect(await setAside(rig, 'unknown', 'unknown_rpc')).toBe(1);
    expect(await setAside(rig, 'ReportSightings', 'unreadable_payload')).toBe(3);
    expect(await metricValue(rig.metrics, 'sightline_outbox_rejected_rows', {})).toBe(4);
    expect(rig.client.health()).toMatchObject({
      ok: true,
      pending: 0,
      rejected: 4,
      lastRejected: { key: 'workload/c/array', reason: 'unreadable payload: not a JSON object (an array)' },
    });
    const errors = rig.log.lines.filter((l) => l.includes('cannot be sent; moved it to outbox_rejected'));
    expect(errors).toHaveLength(4);
    expect(JSON.parse(errors[0] ?? '{}')).toMatchObject({
      level: 50,
      reason: 'unknown_rpc',
      key: 'future/1',
    });
    // The reason never quotes the payload (V8 quotes the start of unparsable text).
    expect(rig.log.text()).not.toContain('SECRETISH');
    expect(JSON.stringify(rig.client.health())).not.toContain('SECRETISH');
    expect(rig.clock.scheduler.now()).toBe(0);
  });

  it('isolates a row the protobuf schema refuses (serialization failure) and sets it aside', async () => {
    const rec = await recordingConsole();
    const dir = workDir();
    const c = makeCluster(1);
    const seed = rigAt(dir, rec.address);
    handleBurst(
      seed.db,
      seed.sink,
      [0, 1].map((k) => upsert(`w${k}`, makeWorkload(c, k))),
    );
    await seed.close();
    const odd = '{"workload":{"uid":"odd","containers":5}}';
    plant(dir, [{ rpc: 'sightings', key: 'workload/c/odd', payload: odd }]);
    const rig = rigAt(dir, rec.address);
    handleBurst(
      rig.db,
      rig.sink,
      [2, 3].map((k) => upsert(`w${k}`, makeWorkload(c, k))),
    );
    rig.client.start();
    await drained(rig);

    expect(rec.accepted.map((w) => w.name)).toEqual(['task-0', 'task-1', 'task-2', 'task-3']);
    const kept = rig.db.outbox.rejectedRows();
    expect(kept.map((r) => [r.key, r.payload])).toEqual([['workload/c/odd', odd]]);
    expect(kept[0]?.error).toMatch(
      /^ReportSightings failed: INTERNAL: Request message serialization failure: .*containers: array expected/,
    );
    expect(await setAside(rig, 'ReportSightings', 'unserializable')).toBe(1);
    expect(await pushes(rig, { rpc: 'ReportSightings', outcome: 'unserializable' })).toBeGreaterThanOrEqual(
      2,
    );
    expect(rig.client.health()).toMatchObject({ ok: true, pending: 0, rejected: 1 });
    expect(rig.clock.scheduler.now()).toBe(0);
  });
});

describe('rejected heartbeats', () => {
  it('drops a rejected pair, delivers the others and keeps the outbox flowing (no cooldown)', async () => {
    const server = await referenceConsole();
    const rig = rigAt(workDir(), server.address, {}, { permanentErrorCooldownMs: 600_000 });
    const c = makeCluster(1);
    registerCluster(rig, c);
    // The reference console rejects a heartbeat without a controller name.
    for (const controllerName of ['observer', '', 'enforcer'])
      rig.sink.activity({ clusterId: c.id, controllerName, profile: 'observer', lastSeenMs: 1_000 });
    handleBurst(
      rig.db,
      rig.sink,
      [0, 1, 2].map((k) => upsert(`w${k}`, makeWorkload(c, k))),
    );
    rig.client.start();
    await until(
      () => rig.db.outbox.count === 0 && rig.db.activity.pendingCount() === 0,
      10_000,
      'heartbeats and outbox',
    );
    const cluster = (await fetchClusters(server.address, view))[0];
    expect(cluster?.workloads).toBe(3);
    expect(cluster?.activity.map((a) => a.controller_name).sort()).toEqual(['enforcer', 'observer']);
    expect(await setAside(rig, 'Heartbeat', 'invalid_argument')).toBe(1);
    expect(await pushes(rig, { rpc: 'Heartbeat', outcome: 'ok' })).toBe(2);
    expect(rig.client.health()).toMatchObject({ ok: true, pending: 0, rejected: 0 });
    expect(rig.client.health().reason).toBeUndefined();
    const dropped = rig.log.lines.find((l) => l.includes('rejected heartbeat activity'));
    expect(JSON.parse(dropped ?? '{}')).toMatchObject({
      level: 50,
      rpc: 'Heartbeat',
      pairs: 1,
      first: [{ clusterId: c.id, controller: '' }],
    });
    expect(rig.clock.scheduler.now()).toBe(0);

    // New activity makes the pair pending again with a fresh value; it is tried (and dropped) once more.
    rig.sink.activity({ clusterId: c.id, controllerName: '', profile: 'observer', lastSeenMs: 2_000 });
    expect(rig.db.activity.pendingCount()).toBe(1);
    await rig.clock.advance(50); // the rig's heartbeat interval
    await until(async () => (await setAside(rig, 'Heartbeat', 'invalid_argument')) === 2, 10_000, 'retry');
    rig.sink.handle(upsert('w3', makeWorkload(c, 3)));
    await drained(rig);
    expect((await fetchClusters(server.address, view))[0]?.workloads).toBe(4);
    expect(rig.db.activity.pendingCount()).toBe(0);
  });

  it('stops splitting when the console rejects every heartbeat, and still delivers the outbox', async () => {
    const rec = await recordingConsole();
    rec.heartbeatMode = 'reject-all';
    const rig = rigAt(
      workDir(),
      rec.address,
      {},
      { maxRejectedInARow: 3, permanentErrorCooldownMs: 600_000 },
    );
    const c = makeCluster(1);
    const activity = (lastSeenMs: number) => {
      for (let k = 0; k < 20; k++)
        rig.sink.activity({ clusterId: c.id, controllerName: `ctl-${k}`, profile: 'observer', lastSeenMs });
    };
    activity(1_000);
    handleBurst(
      rig.db,
      rig.sink,
      [0, 1, 2].map((k) => upsert(`w${k}`, makeWorkload(c, k))),
    );
    rig.client.start();
    await drained(rig);
    await until(() => rig.db.activity.pendingCount() === 0, 10_000, 'heartbeats dropped');
    // Split until 3 pairs were dropped on their own, then the remaining parts are dropped whole.
    expect(rec.heartbeatBatches).toEqual([20, 10, 5, 3, 2, 1, 1, 1, 2, 5, 10]);
    expect(rec.accepted).toHaveLength(3);
    expect(await setAside(rig, 'Heartbeat', 'invalid_argument')).toBe(20);

    // The next round costs one call.
    activity(2_000);
    await rig.clock.advance(50);
    await until(() => rig.db.activity.pendingCount() === 0, 10_000, 'second round');
    expect(rec.heartbeatBatches.slice(11)).toEqual([20]);
    expect(await setAside(rig, 'Heartbeat', 'invalid_argument')).toBe(40);

    // Once the console accepts heartbeats again, they are delivered (and splitting is back).
    rec.heartbeatMode = 'poison';
    activity(3_000);
    await rig.clock.advance(50);
    await until(() => rec.acceptedActivity.length === 20, 10_000, 'accepted heartbeats');
    expect(rig.client.health()).toMatchObject({ ok: true, rejected: 0 });
  });
});
