/**
 * The outbox: console writes waiting for an acknowledgement, in append (seq) order, in the state
 * database. Rows are appended inside the caller's transaction (see ConsoleSink) and removed only by
 * `ack` after the console accepted them, so a crash re-sends unacknowledged rows in order.
 *
 * Size policy (documented in src/console/README.md):
 * - Every change is kept. Nothing is dropped or coalesced here (heartbeats coalesce in their own
 *   table, one row per (cluster, controller), so a quiet fleet adds nothing to the outbox).
 * - Past `maxBytes` (sum of payload bytes) the outbox reports `overLimit` (health turns unhealthy,
 *   an error is logged once per crossing, gauge `sightline_outbox_bytes` shows the size) and keeps
 *   accepting appends: the disk is the real limit. If the disk fills, the SQLite write throws
 *   SQLITE_FULL inside `ConsoleSink.handle`, the transaction rolls back (no half-written event) and
 *   the caller (the watch engine) sees the error.
 *
 * Rejected rows: `reject` moves ONE row into the `outbox_rejected` table, with the reason and the
 * time, in one transaction, so it is never both re-sent and kept, nor lost. The client rejects a row
 * the console refused on its own (INVALID_ARGUMENT for a batch of just that row; the reason is the
 * console's redacted message) and a row it cannot send at all: an rpc this version does not know
 * (`peek` returns such rows as they are; see `isOutboxRow`) or a payload that is not a JSON object.
 * Nothing else ever removes a row without an acknowledgement. Rejected rows are never re-sent
 * unless an operator requeues one (`sightline records requeue`, see rejected-rows.ts). The table
 * keeps the newest `maxRejectedRows` (default 10,000) by seq; older ones are deleted and counted
 * (meta `outbox_rejected_evicted`, gauge `sightline_outbox_rejected_evicted_rows`); gauge
 * `sightline_outbox_rejected_rows` is its size. Like `ack`, the client only rejects the oldest
 * unacknowledged row (everything before it was acknowledged or rejected), so rows leave the outbox
 * in seq order and a batch id (a seq range) always names the same rows.
 *
 * Another process: `sightline records requeue` may append one row while the daemon runs (SQLite
 * serializes the writers). Its seq is past every seq in the table and the floor, so it may be the
 * seq this Outbox would use next. Seqs stay unique anyway: `append` notices the primary-key conflict
 * while the row is pending and continues after it, and `ack` / `reject` move the next seq past any
 * seq they remove (so a row acknowledged before the next append does not free its seq). The requeue
 * bumps meta `outbox_external_changes`, which `ack` checks to re-read the counts it missed.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';

export type OutboxRpc = 'register' | 'sightings' | 'deregister' | 'resync';

/** A pending row as stored. `rpc` is an OutboxRpc unless something else wrote the row (see isOutboxRow). */
export interface PendingRow {
  seq: number;
  rpc: string;
  key: string;
  payload: string;
  createdMs: number;
}

/** A pending row this version can send. */
export interface OutboxRow extends PendingRow {
  rpc: OutboxRpc;
}

/** A rejected row in short, for health: no payload. */
export interface RejectedSummary {
  seq: number;
  rpc: string;
  key: string;
  /** Why it was set aside (the console's redacted message or the agent's own reason), at most 300 characters. */
  reason: string;
  rejectedMs: number;
}

export const REJECTED_SUMMARY_REASON_CHARS = 300;

interface RawRow {
  seq: number;
  rpc: string;
  key: string;
  payload: string;
  created_ms: number;
}

/** An outbox row set aside (rejected by the console on its own, or unsendable), as kept in `outbox_rejected`. */
export interface RejectedRow {
  seq: number;
  /** The outbox rpc (`register` | `sightings` | `deregister`, or whatever an unknown row held). */
  rpc: string;
  key: string;
  payload: string;
  /** Why: the console's error or the agent's own reason, secrets redacted by the caller. */
  error: string;
  createdMs: number;
  rejectedMs: number;
}

/** An `outbox_rejected` row as SQLite returns it. */
export interface RawRejected extends RawRow {
  error: string;
  rejected_ms: number;
}

export interface OutboxGauges {
  depth?: Gauge<'queue'>;
  bytes?: Gauge<'queue'>;
  /** Rows in `outbox_rejected`. */
  rejected?: Gauge;
  /** Rejected rows evicted past the cap, ever (from meta, so it survives restarts). */
  rejectedEvicted?: Gauge;
}

export const DEFAULT_MAX_REJECTED_ROWS = 10_000;

const OUTBOX_LABELS = { queue: 'outbox' } as const;

/** Meta key bumped by another process that changed the outbox (a requeue), so counts are re-read. */
export const EXTERNAL_CHANGES_META_KEY = 'outbox_external_changes';

export function isOutboxRpc(v: string): v is OutboxRpc {
  return v === 'register' || v === 'sightings' || v === 'deregister' || v === 'resync';
}

/** Whether this version knows the row's rpc (a newer version, or a hand edit, may have written others). */
export function isOutboxRow(r: PendingRow): r is OutboxRow {
  return isOutboxRpc(r.rpc);
}

function summarize(r: RejectedRow | undefined): RejectedSummary | undefined {
  if (r === undefined) return undefined;
  const reason =
    r.error.length > REJECTED_SUMMARY_REASON_CHARS
      ? `${r.error.slice(0, REJECTED_SUMMARY_REASON_CHARS - 1)}…`
      : r.error;
  return { seq: r.seq, rpc: r.rpc, key: r.key, reason, rejectedMs: r.rejectedMs };
}

export function fromRawRejected(r: RawRejected): RejectedRow {
  return {
    seq: r.seq,
    rpc: r.rpc,
    key: r.key,
    payload: r.payload,
    error: r.error,
    createdMs: r.created_ms,
    rejectedMs: r.rejected_ms,
  };
}

export class Outbox {
  private readonly insertStmt: Statement<[number, string, string, string, number, number]>;
  private readonly peekStmt: Statement<[number, number]>;
  private readonly ackStmt: Statement<[number]>;
  private readonly statsStmt: Statement<[]>;
  private readonly rangeStmt: Statement<[number]>;
  private readonly floorPut: Statement<[string]>;
  private readonly ackTx: (throughSeq: number) => number;
  private readonly rowStmt: Statement<[number]>;
  private readonly deleteOneStmt: Statement<[number]>;
  private readonly rejectInsert: Statement<[number, string, string, string, string, number, number]>;
  private readonly rejectEvict: Statement<[number]>;
  private readonly evictedPut: Statement<[string]>;
  private readonly rejectedStatsStmt: Statement<[]>;
  private readonly rejectedListStmt: Statement<[number]>;
  private readonly maxSeqStmt: Statement<[]>;
  private readonly externalGet: Statement<[]>;
  private readonly rejectTx: (seq: number, error: string, nowMs: number) => RejectedRow | undefined;
  /**
   * Next seq to assign. Seqs are never reused (batch ids are built from them, and the console
   * dedupes by batch id): acks delete a prefix, so the highest seq ever used is either still in the
   * table or recorded as `outbox_seq_floor` in meta by the ack that removed it.
   */
  private nextSeq: number;
  private countValue = 0;
  private bytesValue = 0;
  private overLimitValue = false;
  private rejectedValue = 0;
  private rejectedEvictedValue = 0;
  private lastRejectedValue: RejectedSummary | undefined;
  /** Last seen value of meta `outbox_external_changes` (see the module comment). */
  private externalChanges: string | undefined;
  /** What the rejected gauges were last set to (-1: never). */
  private publishedRejected = -1;
  private publishedEvicted = -1;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly db: Database,
    readonly maxBytes: number,
    private readonly logger: Logger,
    private readonly gauges: OutboxGauges = {},
    readonly maxRejectedRows: number = DEFAULT_MAX_REJECTED_ROWS,
  ) {
    if (!Number.isInteger(maxRejectedRows) || maxRejectedRows < 1)
      throw new Error(`maxRejectedRows must be a positive integer, got ${maxRejectedRows}`);
    this.insertStmt = db.prepare(
      'INSERT INTO outbox (seq, rpc, key, payload, bytes, created_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.peekStmt = db.prepare(
      'SELECT seq, rpc, key, payload, created_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.ackStmt = db.prepare('DELETE FROM outbox WHERE seq <= ?');
    this.statsStmt = db.prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM outbox');
    this.rangeStmt = db.prepare(
      'SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b, max(seq) AS m FROM outbox WHERE seq <= ?',
    );
    this.floorPut = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('outbox_seq_floor', ?)
       ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))`,
    );
    this.maxSeqStmt = db.prepare(
      `SELECT max(coalesce((SELECT max(seq) FROM outbox), 0),
                  coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_seq_floor'), 0)) AS m`,
    );
    this.externalGet = db.prepare(`SELECT value FROM meta WHERE key = '${EXTERNAL_CHANGES_META_KEY}'`);
    this.nextSeq = this.highestSeq() + 1;
    // Write transactions begin IMMEDIATE (see SqliteStateDatabase.transaction).
    this.ackTx = db.transaction((throughSeq: number): number => {
      const r = this.rangeStmt.get(throughSeq) as { n: number; b: number; m: number | null };
      if (r.n === 0 || r.m === null) return 0;
      this.ackStmt.run(throughSeq);
      this.floorPut.run(String(r.m));
      this.nextSeq = Math.max(this.nextSeq, r.m + 1);
      this.countValue = Math.max(0, this.countValue - r.n);
      this.bytesValue = Math.max(0, this.bytesValue - r.b);
      return r.n;
    }).immediate;
    this.rowStmt = db.prepare('SELECT seq, rpc, key, payload, bytes, created_ms FROM outbox WHERE seq = ?');
    this.deleteOneStmt = db.prepare('DELETE FROM outbox WHERE seq = ?');
    this.rejectInsert = db.prepare(
      `INSERT INTO outbox_rejected (seq, rpc, key, payload, error, created_ms, rejected_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    // Keep the newest maxRejectedRows by seq: delete every row at or below the (cap+1)-th newest.
    this.rejectEvict = db.prepare(
      `DELETE FROM outbox_rejected
       WHERE seq <= (SELECT seq FROM outbox_rejected ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
    );
    this.evictedPut = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('outbox_rejected_evicted', ?)
       ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)`,
    );
    this.rejectedStatsStmt = db.prepare(
      `SELECT (SELECT count(*) FROM outbox_rejected) AS n,
              (SELECT value FROM meta WHERE key = 'outbox_rejected_evicted') AS e`,
    );
    this.rejectedListStmt = db.prepare(
      `SELECT seq, rpc, key, payload, error, created_ms, rejected_ms FROM outbox_rejected
       ORDER BY seq DESC LIMIT ?`,
    );
    this.rejectTx = db.transaction((seq: number, error: string, nowMs: number): RejectedRow | undefined => {
      const r = this.rowStmt.get(seq) as (RawRow & { bytes: number }) | undefined;
      if (r === undefined) return undefined;
      this.rejectInsert.run(r.seq, r.rpc, r.key, r.payload, error, r.created_ms, nowMs);
      this.deleteOneStmt.run(seq);
      this.floorPut.run(String(seq));
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const evicted = this.rejectEvict.run(this.maxRejectedRows).changes;
      if (evicted > 0) this.evictedPut.run(String(evicted));
      this.countValue = Math.max(0, this.countValue - 1);
      this.bytesValue = Math.max(0, this.bytesValue - r.bytes);
      return {
        seq: r.seq,
        rpc: r.rpc,
        key: r.key,
        payload: r.payload,
        error,
        createdMs: r.created_ms,
        rejectedMs: nowMs,
      };
    }).immediate;
    this.externalChanges = this.readExternalChanges();
    this.recount();
  }

  /** The highest seq ever used: in the table, or recorded as the floor by the ack/reject that removed it. */
  private highestSeq(): number {
    return (this.maxSeqStmt.get() as { m: number | null }).m ?? 0;
  }

  private readExternalChanges(): string | undefined {
    return (this.externalGet.get() as { value: string } | undefined)?.value;
  }

  /** Appends one row (inside the caller's transaction, if any). Returns its seq. */
  append(rpc: OutboxRpc, key: string, payload: string, createdMs: number): number {
    const bytes = Buffer.byteLength(payload);
    let seq = this.nextSeq++;
    try {
      this.insertStmt.run(seq, rpc, key, payload, bytes, createdMs);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
      // Another process appended at this seq (a requeue while we run; see the module comment). Only
      // this statement failed: go on after the highest seq now in the table, in the same transaction.
      seq = this.highestSeq() + 1;
      this.nextSeq = seq + 1;
      this.insertStmt.run(seq, rpc, key, payload, bytes, createdMs);
      this.logger.info({ seq }, 'outbox: another process appended a row (a requeue); continuing after it');
    }
    this.countValue += 1;
    this.bytesValue += bytes;
    this.publish();
    return seq;
  }

  /**
   * Up to `limit` rows with seq > `afterSeq`, in seq order, as stored: a row with an rpc this version
   * does not know is returned too (`isOutboxRow` tells), so the caller can set it aside in order
   * rather than skip it.
   */
  peek(limit: number, afterSeq = 0): PendingRow[] {
    return (this.peekStmt.all(afterSeq, limit) as RawRow[]).map((r) => ({
      seq: r.seq,
      rpc: r.rpc,
      key: r.key,
      payload: r.payload,
      createdMs: r.created_ms,
    }));
  }

  /** Removes every row with seq <= throughSeq (the console acknowledged them). */
  ack(throughSeq: number): number {
    let n: number;
    try {
      n = this.ackTx(throughSeq);
    } catch (err) {
      this.recount();
      throw err;
    }
    const external = this.readExternalChanges();
    if (external !== this.externalChanges) {
      // Another process changed the outbox (a requeue): our running counts missed it.
      this.externalChanges = external;
      this.recount();
    } else if (n > 0) this.publish();
    return n;
  }

  /**
   * Moves row `seq` to `outbox_rejected` with the console's `error` (already redacted) and the time,
   * in one transaction, evicting the oldest rejected rows past `maxRejectedRows`. Returns the
   * rejected row, or undefined when no such row is pending (already acknowledged or rejected).
   */
  reject(seq: number, error: string, nowMs: number): RejectedRow | undefined {
    let row: RejectedRow | undefined;
    try {
      row = this.rejectTx(seq, error, nowMs);
    } catch (err) {
      this.recount();
      throw err;
    }
    if (row !== undefined) {
      // The outbox counts were kept up to date by the transaction; re-read only the rejected table's.
      this.refreshRejected();
      this.lastRejectedValue = summarize(row);
      this.publish();
    }
    return row;
  }

  /** The newest `limit` rejected rows, newest first. */
  rejectedRows(limit = 100): RejectedRow[] {
    return (this.rejectedListStmt.all(limit) as RawRejected[]).map(fromRawRejected);
  }

  /** The newest row in `outbox_rejected` (kept across restarts), without its payload. */
  get lastRejected(): RejectedSummary | undefined {
    return this.lastRejectedValue;
  }

  /** Rows in `outbox_rejected` now. */
  get rejectedCount(): number {
    return this.rejectedValue;
  }

  /** Rejected rows evicted past `maxRejectedRows`, over the database's life. */
  get rejectedEvicted(): number {
    return this.rejectedEvictedValue;
  }

  /** Re-reads count and size from disk (after a rolled-back transaction or an ack). */
  recount(): void {
    const s = this.statsStmt.get() as { n: number; b: number };
    this.countValue = s.n;
    this.bytesValue = s.b;
    this.refreshRejected();
    this.publish();
  }

  private refreshRejected(): void {
    const r = this.rejectedStatsStmt.get() as { n: number; e: string | null };
    this.rejectedValue = r.n;
    this.rejectedEvictedValue = Number(r.e ?? 0) || 0;
    const newest = this.rejectedListStmt.get(1) as RawRejected | undefined;
    this.lastRejectedValue = summarize(newest === undefined ? undefined : fromRawRejected(newest));
  }

  get count(): number {
    return this.countValue;
  }

  get bytes(): number {
    return this.bytesValue;
  }

  get overLimit(): boolean {
    return this.overLimitValue;
  }

  /** Called after every append (synchronously); returns an unsubscribe function. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Notifies listeners; the sink calls it once its transaction committed. */
  notify(): void {
    for (const l of this.listeners) l();
  }

  private publish(): void {
    this.gauges.depth?.set(OUTBOX_LABELS, this.countValue);
    this.gauges.bytes?.set(OUTBOX_LABELS, this.bytesValue);
    // Every append publishes: set the rejected gauges only when they moved (each set costs a label hash).
    if (this.rejectedValue !== this.publishedRejected) {
      this.publishedRejected = this.rejectedValue;
      this.gauges.rejected?.set(this.rejectedValue);
    }
    if (this.rejectedEvictedValue !== this.publishedEvicted) {
      this.publishedEvicted = this.rejectedEvictedValue;
      this.gauges.rejectedEvicted?.set(this.rejectedEvictedValue);
    }
    const over = this.bytesValue > this.maxBytes;
    if (over !== this.overLimitValue) {
      this.overLimitValue = over;
      if (over) {
        this.logger.error(
          { bytes: this.bytesValue, maxBytes: this.maxBytes, pending: this.countValue },
          'console outbox is over its size limit; still accepting changes (nothing is dropped) — is the console reachable?',
        );
      } else {
        this.logger.info(
          { bytes: this.bytesValue, maxBytes: this.maxBytes },
          'console outbox back under its size limit',
        );
      }
    }
  }
}
