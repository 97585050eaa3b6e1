import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openStateDatabase, STATE_DB_FILE } from '../../src/state/database.js';
import { SCHEMA_VERSION } from '../../src/state/schema.js';
import type { StateDatabase } from '../../src/state/database.js';
import { ConsoleSink } from '../../src/console/sink.js';
import {
  captureLogger,
  makeCluster,
  makeWorkload,
  metricValue,
  newMetrics,
  tempDir,
} from '../console/helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function open(dir: string, maxBytes?: number) {
  const log = captureLogger();
  const metrics = newMetrics();
  const db = openStateDatabase(dir, {
    logger: log.logger,
    metrics,
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  });
  cleanups.unshift(() => db.close());
  return { db, log, metrics };
}

function fresh(maxBytes?: number) {
  const t = tempDir('sl-state-');
  cleanups.push(t.cleanup);
  return { dir: t.dir, ...open(t.dir, maxBytes) };
}

describe('state database', () => {
  it('creates sightline.db in WAL mode and reports it created, then opened', () => {
    const { dir, db } = fresh();
    expect(db.openStatus.state).toBe('created');
    expect(existsSync(join(dir, STATE_DB_FILE))).toBe(true);
    db.close();
    const again = open(dir);
    expect(again.db.openStatus.state).toBe('opened');
    expect(again.db.instanceId).toBe(db.instanceId);
  });

  it('keeps outbox rows in append order and removes them only on ack; depth is a metric', async () => {
    const { db, metrics } = fresh();
    const seqs = ['a', 'b', 'a', 'c', 'a'].map((k, i) =>
      db.outbox.append('sightings', k, JSON.stringify({ i }), 1000 + i),
    );
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(
      db.outbox
        .peek(10)
        .map((r) => JSON.parse(r.payload) as { i: number })
        .map((p) => p.i),
    ).toEqual([0, 1, 2, 3, 4]);
    expect(await metricValue(metrics, 'sightline_queue_depth', { queue: 'outbox' })).toBe(5);
    db.outbox.ack(seqs[1] ?? 0);
    expect(db.outbox.peek(10).map((r) => r.key)).toEqual(['a', 'c', 'a']);
    expect(db.outbox.count).toBe(3);
    expect(await metricValue(metrics, 'sightline_queue_depth', { queue: 'outbox' })).toBe(3);
  });

  it('survives reopen with unacked rows in order', () => {
    const { dir, db } = fresh();
    for (let i = 0; i < 20; i++) db.outbox.append('sightings', `k${i % 3}`, `{"i":${i}}`, i);
    db.outbox.ack(5);
    db.close();
    const again = open(dir);
    expect(again.db.outbox.count).toBe(15);
    expect(again.db.outbox.peek(100).map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 6));
  });

  it('never reuses a seq, even after the outbox emptied and the database was reopened', () => {
    const { dir, db } = fresh();
    const first = [1, 2, 3].map((i) => db.outbox.append('sightings', 'k', `{"i":${i}}`, i));
    db.outbox.ack(first[2] ?? 0);
    expect(db.outbox.count).toBe(0);
    db.close();
    const again = open(dir);
    const next = again.db.outbox.append('sightings', 'k', '{}', 4);
    expect(next).toBeGreaterThan(first[2] ?? Infinity);
  });

  it('rolls back outbox and snapshot writes together when a transaction throws', () => {
    const { db } = fresh();
    expect(() =>
      db.transaction(() => {
        db.outbox.append('sightings', 'k', '{}', 1);
        db.snapshots.setCursor('src', 'c1');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(db.outbox.count).toBe(0);
    expect(db.outbox.peek(10)).toEqual([]);
    expect(db.loadCheckpoint('src')).toBeUndefined();
  });

  it('persists the KeyValueCache across reopen', () => {
    const { dir, db } = fresh();
    expect(db.get('taskdef', 'arn:1')).toBeUndefined();
    db.set('taskdef', 'arn:1', '{"x":1}');
    db.set('taskdef', 'arn:1', '{"x":2}');
    db.close();
    const again = open(dir);
    expect(again.db.get('taskdef', 'arn:1')).toBe('{"x":2}');
    expect(again.db.get('other', 'arn:1')).toBeUndefined();
  });

  it('sets a corrupt database aside, reports it, and starts fresh', () => {
    const t = tempDir('sl-state-');
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, STATE_DB_FILE), Buffer.alloc(8192, 0x5a));
    const { db, log } = open(t.dir);
    expect(db.openStatus.state).toBe('recovered');
    if (db.openStatus.state !== 'recovered') throw new Error('unreachable');
    expect(db.openStatus.reason).toMatch(/not a database|malformed|corrupt/i);
    expect(existsSync(db.openStatus.movedTo)).toBe(true);
    expect(readdirSync(t.dir).some((f) => f.startsWith(`${STATE_DB_FILE}.corrupt-`))).toBe(true);
    expect(log.text()).toMatch(/corrupt or unreadable/);
    // The fresh database works.
    db.outbox.append('sightings', 'k', '{}', 1);
    expect(db.outbox.count).toBe(1);
  });

  it('past maxBytes reports over limit, logs once, and keeps accepting changes', () => {
    const { db, log } = fresh(2_000);
    const payload = JSON.stringify({ pad: 'x'.repeat(480) });
    for (let i = 0; i < 10; i++) db.outbox.append('sightings', `k${i}`, payload, i);
    expect(db.outbox.count).toBe(10);
    expect(db.outbox.bytes).toBeGreaterThan(2_000);
    expect(db.outbox.overLimit).toBe(true);
    expect(log.text().match(/over its size limit/g)?.length).toBe(1);
    const last = db.outbox.peek(100).at(-1);
    expect(last?.key).toBe('k9');
    db.outbox.ack(8);
    expect(db.outbox.overLimit).toBe(false);
    expect(log.text()).toMatch(/back under its size limit/);
  });
});

describe('snapshots through the sink', () => {
  function sinkOn(db: StateDatabase, nowRef: { now: number }) {
    const log = captureLogger();
    return new ConsoleSink(db, {
      logger: log.logger,
      scheduler: {
        now: () => nowRef.now,
        schedule: () => {
          throw new Error('unused');
        },
      },
    });
  }

  it('restores a checkpoint with the cursor and last known objects', () => {
    const { dir, db } = fresh();
    const clock = { now: 1_000 };
    const sink = sinkOn(db, clock);
    const c = makeCluster(1);
    const w1 = makeWorkload(c, 1);
    const w2 = makeWorkload(c, 2);
    sink.handle({ type: 'ADDED', sourceId: 's', key: 'w1', object: { kind: 'workload', workload: w1 } });
    sink.handle({
      type: 'ADDED',
      sourceId: 's',
      key: 'w2',
      object: { kind: 'workload', workload: w2 },
      cursor: 'c1',
    });
    sink.handle({
      type: 'DELETED',
      sourceId: 's',
      key: 'w1',
      object: { kind: 'workload', workload: w1 },
      tombstone: false,
    });
    sink.handle({ type: 'BOOKMARK', sourceId: 's', cursor: 'c2' });
    db.close();
    const again = open(dir);
    const cp = again.db.loadCheckpoint('s');
    expect(cp?.cursor).toBe('c2');
    const objects = [...(cp?.objects ?? [])];
    expect(objects.map((o) => o.key)).toEqual(['w2']);
    expect(objects[0]?.object).toEqual({ kind: 'workload', workload: w2 });
    expect(again.db.loadCheckpoint('other')).toBeUndefined();
  });

  it('upgrades a schema-2 database (snapshot WITHOUT ROWID) in place: the same checkpoint loads', () => {
    const { dir, db } = fresh();
    const clock = { now: 1_000 };
    const sink = sinkOn(db, clock);
    const c = makeCluster(1);
    const objects = [3, 1, 2].map((n) => ({ kind: 'workload' as const, workload: makeWorkload(c, n) }));
    for (const [i, o] of objects.entries()) {
      clock.now = 1_000 + i;
      sink.handle({ type: 'ADDED', sourceId: 's', key: `w${i}`, object: o, cursor: `c${i}` });
    }
    const before = db.loadCheckpoint('s');
    db.close();
    // What schema 2 left behind: the same columns in a WITHOUT ROWID table.
    const raw = new Database(join(dir, STATE_DB_FILE));
    raw.exec(`
      CREATE TABLE snapshot_v2 (source_id TEXT NOT NULL, key TEXT NOT NULL, hash TEXT NOT NULL, ord INTEGER,
        object TEXT NOT NULL, first_seen_ms INTEGER NOT NULL, images TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (source_id, key)) WITHOUT ROWID;
      INSERT INTO snapshot_v2 SELECT source_id, key, hash, ord, object, first_seen_ms, images FROM snapshot;
      DROP TABLE snapshot;
      ALTER TABLE snapshot_v2 RENAME TO snapshot;
    `);
    raw.pragma('user_version = 2');
    raw.close();

    const again = open(dir);
    expect(again.db.openStatus.state).toBe('opened');
    expect(again.db.loadCheckpoint('s')).toEqual(before);
    // A replayed object is still recognised (same hash, first seen kept): no new outbox row.
    const rows = again.db.outbox.count;
    sinkOn(again.db, { now: 9_000 }).handle({
      type: 'MODIFIED',
      sourceId: 's',
      key: 'w0',
      object: objects[0]!,
    });
    expect(again.db.outbox.count).toBe(rows);
    expect(again.db.snapshots.get('s', 'w0')?.firstSeenMs).toBe(1_000);
    again.db.close();
    const check = new Database(join(dir, STATE_DB_FILE), { readonly: true });
    cleanups.unshift(() => check.close());
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const ddl = check
      .prepare("SELECT sql FROM sqlite_master WHERE name IN ('snapshot', 'snapshot_key')")
      .all();
    expect(ddl.map((r) => (r as { sql: string }).sql).join('\n')).toMatch(
      /id INTEGER PRIMARY KEY[\s\S]*UNIQUE INDEX snapshot_key/,
    );
    expect(JSON.stringify(ddl)).not.toContain('WITHOUT ROWID');
  });

  it('upgrades a schema-4 database by moving each Cloud Run project source to its kind sources', () => {
    const { dir, db } = fresh();
    const sink = sinkOn(db, { now: 1_000 });
    const c = makeCluster(1, { provider: 'CLOUD_RUN' });
    const kinds: Array<[string, string]> = [
      ['run.googleapis.com/Service', 'services'],
      ['run.googleapis.com/Revision', 'services'],
      ['run.googleapis.com/Job', 'jobs'],
      ['run.googleapis.com/Execution', 'jobs'],
      ['run.googleapis.com/WorkerPool', 'workerpools'],
    ];
    sink.handle({
      type: 'ADDED',
      sourceId: 'cloudrun/proj-a',
      key: 'c',
      object: { kind: 'cluster', cluster: c },
      cursor: 'v1|t|i',
    });
    for (const [i, [nativeKind]] of kinds.entries()) {
      const object = { kind: 'workload' as const, workload: makeWorkload(c, i, i, { nativeKind }) };
      sink.handle({ type: 'ADDED', sourceId: 'cloudrun/proj-a', key: `w${i}`, object, cursor: 'v1|t|i' });
    }
    // An ECS source and an already split Cloud Run source are left as they are.
    const task = { kind: 'workload' as const, workload: makeWorkload(c, 9) };
    sink.handle({
      type: 'ADDED',
      sourceId: 'ecs/123456789012/us-east-1/tasks',
      key: 't',
      object: task,
      cursor: 'e',
    });
    sink.handle({
      type: 'ADDED',
      sourceId: 'cloudrun/proj-b/jobs',
      key: 'j',
      object: task,
      cursor: 'v1|u|j',
    });
    db.close();
    const raw = new Database(join(dir, STATE_DB_FILE));
    raw.pragma('user_version = 4');
    raw.close();

    const again = open(dir);
    expect(again.db.openStatus.state).toBe('opened');
    expect(again.db.loadCheckpoint('cloudrun/proj-a')).toBeUndefined();
    const keysOf = (id: string) => [...(again.db.loadCheckpoint(id)?.objects ?? [])].map((o) => o.key).sort();
    expect(keysOf('cloudrun/proj-a/clusters')).toEqual(['c']);
    expect(keysOf('cloudrun/proj-a/services')).toEqual(['w0', 'w1']);
    expect(keysOf('cloudrun/proj-a/jobs')).toEqual(['w2', 'w3']);
    expect(keysOf('cloudrun/proj-a/workerpools')).toEqual(['w4']);
    for (const kind of ['clusters', 'services', 'jobs', 'workerpools'])
      expect(again.db.loadCheckpoint(`cloudrun/proj-a/${kind}`)?.cursor).toBe('v1|t|i');
    expect(keysOf('ecs/123456789012/us-east-1/tasks')).toEqual(['t']);
    expect(again.db.loadCheckpoint('cloudrun/proj-b/jobs')?.cursor).toBe('v1|u|j');
    // The first-seen times travel with the rows: a replayed object adds no outbox row.
    const rows = again.db.outbox.count;
    const w0 = {
      kind: 'workload' as const,
      workload: makeWorkload(c, 0, 0, { nativeKind: 'run.googleapis.com/Service' }),
    };
    sinkOn(again.db, { now: 9_000 }).handle({
      type: 'MODIFIED',
      sourceId: 'cloudrun/proj-a/services',
      key: 'w0',
      object: w0,
    });
    expect(again.db.outbox.count).toBe(rows);
    expect(again.db.snapshots.get('cloudrun/proj-a/services', 'w0')?.firstSeenMs).toBe(1_000);
  });

  it('upgrades a schema-3 database by deleting the cloudrun-keys cache rows, keeping every other cache row', () => {
    const { dir, db } = fresh();
    db.set('cloudrun-keys', 'projects/p/locations/r/services/a', '{"uid":"1"}');
    db.set('cloudrun-keys', 'projects/p/locations/r/services/b', '{"uid":"2"}');
    db.set('ecs-taskdefs', 'arn:aws:ecs:us-east-1:1:task-definition/web:1', '{"family":"web"}');
    db.close();
    const raw = new Database(join(dir, STATE_DB_FILE));
    raw.pragma('user_version = 3');
    raw.close();

    const again = open(dir);
    expect(again.db.openStatus.state).toBe('opened');
    expect(again.db.get('cloudrun-keys', 'projects/p/locations/r/services/a')).toBeUndefined();
    expect(again.db.get('cloudrun-keys', 'projects/p/locations/r/services/b')).toBeUndefined();
    expect(again.db.get('ecs-taskdefs', 'arn:aws:ecs:us-east-1:1:task-definition/web:1')).toBe(
      '{"family":"web"}',
    );
    again.db.close();
    const check = new Database(join(dir, STATE_DB_FILE), { readonly: true });
    cleanups.unshift(() => check.close());
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(check.prepare("SELECT count(*) AS n FROM kv WHERE ns = 'cloudrun-keys'").get()).toEqual({ n: 0 });
  });

  it('waits for another connection holding the write lock instead of failing the event (BEGIN IMMEDIATE)', async () => {
    const { dir, db } = fresh();
    const sink = sinkOn(db, { now: 1_000 });
    const c = makeCluster(1);
    sink.handle({
      type: 'ADDED',
      sourceId: 's',
      key: 'w0',
      object: { kind: 'workload', workload: makeWorkload(c, 0) },
    });
    // Another writer (as `sightline records requeue` is) holds the write lock for 100 ms, in its own thread.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const db = new (require(workerData.driver))(workerData.file);
       db.exec('BEGIN IMMEDIATE');
       db.prepare("INSERT INTO meta (key, value) VALUES ('other-writer', '1')").run();
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
       db.exec('COMMIT');
       db.close();`,
      {
        eval: true,
        workerData: {
          file: join(dir, STATE_DB_FILE),
          driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        },
      },
    );
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await new Promise((resolve) => worker.once('message', resolve));
    // The sink reads the snapshot first and then writes: a deferred transaction failed here with SQLITE_BUSY.
    sink.handle({
      type: 'MODIFIED',
      sourceId: 's',
      key: 'w0',
      object: { kind: 'workload', workload: makeWorkload(c, 0, 7) },
    });
    await exited;
    expect(db.outbox.count).toBe(2);
  });
});
