import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStateDatabase, STATE_DB_FILE } from '../../src/state/database.js';
import { SCHEMA_VERSION } from '../../src/state/schema.js';
import { isOutboxRow } from '../../src/state/outbox-row.js';
import { listRejectedRows, requeueRejectedRow } from '../../src/state/rejected-rows.js';
import { captureLogger, metricValue, newMetrics, tempDir } from '../console/helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function open(dir: string, maxRejectedRows?: number) {
  const log = captureLogger();
  const metrics = newMetrics();
  const db = openStateDatabase(dir, {
    logger: log.logger,
    metrics,
    ...(maxRejectedRows !== undefined ? { maxRejectedRows } : {}),
  });
  cleanups.unshift(() => db.close());
  return { db, log, metrics };
}

function fresh(maxRejectedRows?: number) {
  const t = tempDir('sl-state-');
  cleanups.push(t.cleanup);
  return { dir: t.dir, ...open(t.dir, maxRejectedRows) };
}

describe('rejected outbox rows', () => {
  it('moves one row out of the outbox with its error and time, in order with the rest', async () => {
    const { db, metrics } = fresh();
    const seqs = ['a', 'b', 'c'].map((k, i) => db.outbox.append('sightings', k, `{"i":${i}}`, 100 + i));
    const bytesBefore = db.outbox.bytes;
    db.outbox.ack(seqs[0] ?? 0);

    const row = db.outbox.reject(seqs[1] ?? 0, 'ReportSightings failed: INVALID_ARGUMENT: bad uid', 5_000);
    expect(row).toEqual({
      seq: seqs[1],
      rpc: 'sightings',
      key: 'b',
      payload: '{"i":1}',
      error: 'ReportSightings failed: INVALID_ARGUMENT: bad uid',
      createdMs: 101,
      rejectedMs: 5_000,
    });
    expect(db.outbox.peek(10).map((r) => r.key)).toEqual(['c']);
    expect(db.outbox.count).toBe(1);
    expect(db.outbox.bytes).toBe(bytesBefore - 2 * '{"i":0}'.length);
    expect(db.outbox.rejectedCount).toBe(1);
    expect(db.outbox.rejectedRows()).toEqual([row]);
    expect(await metricValue(metrics, 'sightline_outbox_rejected_rows', {})).toBe(1);
    expect(await metricValue(metrics, 'sightline_queue_depth', { queue: 'outbox' })).toBe(1);
    // Already gone: nothing to reject.
    expect(db.outbox.reject(seqs[1] ?? 0, 'again', 6_000)).toBeUndefined();
    expect(db.outbox.rejectedCount).toBe(1);
  });

  it('keeps rejected rows across a reopen and never reuses the seq of a rejected last row', () => {
    const { dir, db } = fresh();
    const a = db.outbox.append('sightings', 'a', '{}', 1);
    const b = db.outbox.append('register', 'b', '{"id":""}', 2);
    db.outbox.ack(a);
    db.outbox.reject(b, 'RegisterClusters failed: INVALID_ARGUMENT: clusters[0].id is required', 3);
    expect(db.outbox.count).toBe(0);
    db.close();

    const again = open(dir);
    expect(again.db.outbox.count).toBe(0);
    expect(again.db.outbox.rejectedCount).toBe(1);
    expect(again.db.outbox.rejectedRows()[0]).toMatchObject({ seq: b, rpc: 'register', key: 'b' });
    expect(again.db.outbox.append('sightings', 'c', '{}', 4)).toBeGreaterThan(b);
  });

  it('keeps only the newest maxRejectedRows and counts the evicted ones, across reopen', async () => {
    const { dir, db, metrics } = fresh(3);
    const seqs = Array.from({ length: 5 }, (_, i) => db.outbox.append('sightings', `k${i}`, '{}', i));
    for (const s of seqs) db.outbox.reject(s, `bad ${s}`, 10 + s);
    expect(db.outbox.rejectedCount).toBe(3);
    expect(db.outbox.rejectedEvicted).toBe(2);
    expect(db.outbox.rejectedRows().map((r) => r.key)).toEqual(['k4', 'k3', 'k2']);
    expect(db.outbox.rejectedRows(1).map((r) => r.key)).toEqual(['k4']);
    expect(await metricValue(metrics, 'sightline_outbox_rejected_evicted_rows', {})).toBe(2);
    db.close();

    const again = open(dir, 3);
    expect(again.db.outbox.rejectedEvicted).toBe(2);
    const next = again.db.outbox.append('sightings', 'k5', '{}', 5);
    again.db.outbox.reject(next, 'bad', 20);
    expect(again.db.outbox.rejectedCount).toBe(3);
    expect(again.db.outbox.rejectedEvicted).toBe(3);
    expect(await metricValue(again.metrics, 'sightline_outbox_rejected_evicted_rows', {})).toBe(3);
  });

  it('upgrades a schema-1 database in place: pending rows stay and can be rejected', () => {
    const { dir, db } = fresh();
    db.outbox.append('sightings', 'a', '{"i":0}', 1);
    db.outbox.append('sightings', 'b', '{"i":1}', 2);
    const instanceId = db.instanceId;
    db.close();
    // Make it what sightline with schema 1 left behind: no outbox_rejected table, user_version 1.
    const raw = new Database(join(dir, STATE_DB_FILE));
    raw.exec('DROP TABLE outbox_rejected');
    raw.pragma('user_version = 1');
    raw.close();

    const again = open(dir);
    expect(again.db.openStatus.state).toBe('opened');
    expect(again.db.instanceId).toBe(instanceId);
    expect(again.db.outbox.peek(10).map((r) => r.key)).toEqual(['a', 'b']);
    expect(again.db.outbox.rejectedCount).toBe(0);
    const first = again.db.outbox.peek(1)[0];
    again.db.outbox.reject(first?.seq ?? 0, 'bad', 3);
    expect(again.db.outbox.rejectedRows().map((r) => r.key)).toEqual(['a']);
    again.db.close();
    const check = new Database(join(dir, STATE_DB_FILE), { readonly: true });
    cleanups.unshift(() => check.close());
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  });

  it('rolls back a rejection that fails half-way: the row stays in the outbox', () => {
    const { dir, db } = fresh();
    const a = db.outbox.append('sightings', 'a', '{}', 1);
    db.close();
    // A duplicate seq in outbox_rejected makes the insert fail inside the transaction.
    const raw = new Database(join(dir, STATE_DB_FILE));
    raw
      .prepare(
        'INSERT INTO outbox_rejected (seq, rpc, key, payload, error, created_ms, rejected_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(a, 'sightings', 'x', '{}', 'planted', 0, 0);
    raw.close();
    const again = open(dir);
    expect(() => again.db.outbox.reject(a, 'bad', 2)).toThrow(/UNIQUE/);
    expect(again.db.outbox.count).toBe(1);
    expect(again.db.outbox.peek(10).map((r) => r.seq)).toEqual([a]);
    expect(again.db.outbox.rejectedCount).toBe(1);
  });

  it('peek returns a row with an unknown rpc as stored and in order, so it is set aside rather than skipped', () => {
    const { dir, db } = fresh();
    db.outbox.append('sightings', 'a', '{}', 1);
    db.close();
    const raw = new Database(join(dir, STATE_DB_FILE));
    raw
      .prepare('INSERT INTO outbox (seq, rpc, key, payload, bytes, created_ms) VALUES (2, ?, ?, ?, 2, 2)')
      .run('frobnicate', 'b', '{}');
    raw.close();

    const again = open(dir);
    again.db.outbox.append('sightings', 'c', '{}', 3);
    const rows = again.db.outbox.peek(10);
    expect(rows.map((r) => [r.seq, r.rpc, isOutboxRow(r)])).toEqual([
      [1, 'sightings', true],
      [2, 'frobnicate', false],
      [3, 'sightings', true],
    ]);
    expect(again.log.text()).toBe('');
    again.db.outbox.ack(1);
    expect(again.db.outbox.reject(2, 'unknown rpc "frobnicate"', 9)).toMatchObject({
      rpc: 'frobnicate',
      key: 'b',
    });
    again.db.outbox.ack(3);
    expect(again.db.outbox.count).toBe(0);
    expect(again.db.outbox.rejectedRows().map((r) => [r.seq, r.rpc, r.payload])).toEqual([
      [2, 'frobnicate', '{}'],
    ]);
  });

  it('keeps a summary of the newest rejected row, without payload, across a reopen', () => {
    const { dir, db } = fresh();
    expect(db.outbox.lastRejected).toBeUndefined();
    const a = db.outbox.append('sightings', 'a', '{"secret-looking":"payload"}', 1);
    const b = db.outbox.append('register', 'b', '{}', 2);
    db.outbox.reject(a, 'short', 10);
    db.outbox.reject(b, 'x'.repeat(1_000), 20);
    const summary = { seq: b, rpc: 'register', key: 'b', reason: `${'x'.repeat(299)}…`, rejectedMs: 20 };
    expect(db.outbox.lastRejected).toEqual(summary);
    db.close();
    expect(open(dir).db.outbox.lastRejected).toEqual(summary);
  });

  it('lists rejected rows from another connection, read-only; a schema-1 database has none, a newer one is refused', () => {
    const { dir, db } = fresh();
    const a = db.outbox.append('sightings', 'a', '{"i":0}', 1);
    db.outbox.append('sightings', 'b', '{"i":1}', 2);
    db.outbox.reject(a, 'bad a', 7);
    // The daemon's connection is open; what it committed is in the WAL.
    expect(listRejectedRows(dir, 10)).toEqual({ kept: 1, evicted: 0, rows: db.outbox.rejectedRows() });
    expect(listRejectedRows(dir, 10).rows[0]).toMatchObject({
      seq: a,
      key: 'a',
      error: 'bad a',
      rejectedMs: 7,
    });
    db.close();

    const raw = new Database(join(dir, STATE_DB_FILE));
    raw.exec('DROP TABLE outbox_rejected');
    raw.pragma('user_version = 1');
    raw.close();
    expect(listRejectedRows(dir, 10)).toEqual({ kept: 0, evicted: 0, rows: [] });
    const newer = new Database(join(dir, STATE_DB_FILE));
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    newer.close();
    expect(() => listRejectedRows(dir, 10)).toThrow(/newer than this sightline understands/);
  });

  it('requeue from another connection: a new seq at the end; the open Outbox appends after it and recounts', async () => {
    const { dir, db, metrics } = fresh();
    const a = db.outbox.append('sightings', 'a', '{"i":0}', 1);
    const b = db.outbox.append('sightings', 'b', '{"i":1}', 2);
    db.outbox.reject(a, 'bad a', 7);
    expect(db.outbox.lastRejected?.seq).toBe(a);

    const { row, newSeq } = requeueRejectedRow(dir, a);
    expect(row).toMatchObject({ seq: a, key: 'a', payload: '{"i":0}', createdMs: 1 });
    expect(newSeq).toBe(b + 1);
    // The next append (in a transaction with another) wants newSeq too: both land after it.
    const seqs = db.transaction(() => [
      db.outbox.append('sightings', 'c', '{"i":2}', 3),
      db.outbox.append('sightings', 'd', '{"i":3}', 4),
    ]);
    expect(seqs).toEqual([newSeq + 1, newSeq + 2]);
    expect(db.outbox.peek(10).map((r) => [r.seq, r.key, r.createdMs])).toEqual([
      [b, 'b', 2],
      [newSeq, 'a', 1],
      [newSeq + 1, 'c', 3],
      [newSeq + 2, 'd', 4],
    ]);
    // The running counts missed the requeue until the next acknowledgement re-reads them.
    db.outbox.ack(b);
    expect(db.outbox.count).toBe(3);
    expect(db.outbox.rejectedCount).toBe(0);
    expect(db.outbox.lastRejected).toBeUndefined();
    expect(await metricValue(metrics, 'sightline_queue_depth', { queue: 'outbox' })).toBe(3);
    expect(await metricValue(metrics, 'sightline_outbox_rejected_rows', {})).toBe(0);
    expect(() => requeueRejectedRow(dir, a)).toThrow(/no rejected row with seq/);
  });
});
