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
 * Rejected rows: `reject` moves ONE row into the rejected table (rejected-table.ts), with the reason
 * and the time, in one transaction, so it is never both re-sent and kept, nor lost. The client
 * rejects a row the console refused on its own (INVALID_ARGUMENT for a batch of just that row; the
 * reason is the console's redacted message) and a row it cannot send at all: an rpc this version
 * does not know (`peek` returns such rows as they are; see `isOutboxRow`) or a payload that is not a
 * JSON object. Nothing else ever removes a row without an acknowledgement. Rejected rows are never
 * re-sent unless an operator requeues one (`sightline records requeue`, see rejected-rows.ts). Like
 * `ack`, the client only rejects the oldest
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
import type { OutboxRpc, PendingRow, RawRow } from './outbox-row.js';
import { DEFAULT_MAX_REJECTED_ROWS, RejectedTable, summarize } from './rejected-table.js';
import type { RejectedGauges, RejectedRow, RejectedSummary } from './rejected-table.js';

interface OutboxGauges extends RejectedGauges {
  depth?: Gauge<'queue'>;
  bytes?: Gauge<'queue'>;
}

const OUTBOX_LABELS = { queue: 'outbox' } as const;

/** Meta key bumped by another process that changed the outbox (a requeue), so counts are re-read. */
export const EXTERNAL_CHANGES_META_KEY = 'outbox_external_changes';

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
  private readonly rejected: RejectedTable;
  /** Last seen value of meta `outbox_external_changes` (see the module comment). */
  private externalChanges: string | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly db: Database,
    readonly maxBytes: number,
    private readonly logger: Logger,
    private readonly gauges: OutboxGauges = {},
    readonly maxRejectedRows: number = DEFAULT_MAX_REJECTED_ROWS,
  ) {
    this.rejected = new RejectedTable(db, maxRejectedRows);
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
    this.rejectTx = db.transaction((seq: number, error: string, nowMs: number): RejectedRow | undefined => {
      const r = this.rowStmt.get(seq) as (RawRow & { bytes: number }) | undefined;
      if (r === undefined) return undefined;
      const kept = this.rejected.add(r, error, nowMs);
      this.deleteOneStmt.run(seq);
      this.floorPut.run(String(seq));
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      this.countValue = Math.max(0, this.countValue - 1);
      this.bytesValue = Math.max(0, this.bytesValue - r.bytes);
      return kept;
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
      this.rejected.refresh();
      this.rejected.newest = summarize(row);
      this.publish();
    }
    return row;
  }

  /** The newest `limit` rejected rows, newest first. */
  rejectedRows(limit = 100): RejectedRow[] {
    return this.rejected.rows(limit);
  }

  /** The newest row in `outbox_rejected` (kept across restarts), without its payload. */
  get lastRejected(): RejectedSummary | undefined {
    return this.rejected.newest;
  }

  /** Rows in `outbox_rejected` now. */
  get rejectedCount(): number {
    return this.rejected.count;
  }

  /** Rejected rows evicted past `maxRejectedRows`, over the database's life. */
  get rejectedEvicted(): number {
    return this.rejected.evicted;
  }

  /** Re-reads count and size from disk (after a rolled-back transaction or an ack). */
  recount(): void {
    const s = this.statsStmt.get() as { n: number; b: number };
    this.countValue = s.n;
    this.bytesValue = s.b;
    this.rejected.refresh();
    this.publish();
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
    // Every append publishes: the rejected gauges are set only when they moved.
    this.rejected.publish(this.gauges);
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
