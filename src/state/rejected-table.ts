/**
 * The rejected table (`outbox_rejected`): outbox rows set aside instead of delivered (rejected by the
 * console on their own, or unsendable), with why and when. Only Outbox.reject adds a row, in the same
 * transaction that removes it from the outbox; only `sightline records requeue` takes one out.
 *
 * The table keeps the newest `maxRows` (default 10,000) by seq; `add` deletes older ones and counts
 * them in meta `outbox_rejected_evicted` (kept for the database's life). `count`, `evicted` and
 * `newest` (a summary without the payload, its reason cut to 300 characters) are what `refresh` last
 * read; `publish` sets the gauges `sightline_outbox_rejected_rows` and
 * `sightline_outbox_rejected_evicted_rows` when they moved. SQLite errors propagate to the caller.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Gauge } from 'prom-client';
import type { RawRow } from './outbox-row.js';

/** A rejected row in short, for health: no payload. */
export interface RejectedSummary {
  seq: number;
  rpc: string;
  key: string;
  /** Why it was set aside (the console's redacted message or the agent's own reason), at most 300 characters. */
  reason: string;
  rejectedMs: number;
}

const REJECTED_SUMMARY_REASON_CHARS = 300;

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

export const DEFAULT_MAX_REJECTED_ROWS = 10_000;

export function summarize(r: RejectedRow | undefined): RejectedSummary | undefined {
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

export interface RejectedGauges {
  /** Rows in `outbox_rejected`. */
  rejected?: Gauge;
  /** Rejected rows evicted past the cap, ever (from meta, so it survives restarts). */
  rejectedEvicted?: Gauge;
}

export class RejectedTable {
  private readonly insertStmt: Statement<[number, string, string, string, string, number, number]>;
  private readonly evictStmt: Statement<[number]>;
  private readonly evictedPut: Statement<[string]>;
  private readonly statsStmt: Statement<[]>;
  private readonly listStmt: Statement<[number]>;
  private countValue = 0;
  private evictedValue = 0;
  private newestValue: RejectedSummary | undefined;
  /** What the gauges were last set to (-1: never). */
  private publishedCount = -1;
  private publishedEvicted = -1;

  constructor(
    db: Database,
    readonly maxRows: number = DEFAULT_MAX_REJECTED_ROWS,
  ) {
    if (!Number.isInteger(maxRows) || maxRows < 1)
      throw new Error(`maxRejectedRows must be a positive integer, got ${maxRows}`);
    this.insertStmt = db.prepare(
      `INSERT INTO outbox_rejected (seq, rpc, key, payload, error, created_ms, rejected_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    // Keep the newest maxRows by seq: delete every row at or below the (cap+1)-th newest.
    this.evictStmt = db.prepare(
      `DELETE FROM outbox_rejected
       WHERE seq <= (SELECT seq FROM outbox_rejected ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
    );
    this.evictedPut = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('outbox_rejected_evicted', ?)
       ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)`,
    );
    this.statsStmt = db.prepare(
      `SELECT (SELECT count(*) FROM outbox_rejected) AS n,
              (SELECT value FROM meta WHERE key = 'outbox_rejected_evicted') AS e`,
    );
    this.listStmt = db.prepare(
      `SELECT seq, rpc, key, payload, error, created_ms, rejected_ms FROM outbox_rejected
       ORDER BY seq DESC LIMIT ?`,
    );
  }

  /**
   * Inserts `row` with `error` and the time (inside the caller's transaction), then evicts the
   * oldest rows past `maxRows`. Returns the row as kept. Does not refresh the counts.
   */
  add(row: RawRow, error: string, nowMs: number): RejectedRow {
    this.insertStmt.run(row.seq, row.rpc, row.key, row.payload, error, row.created_ms, nowMs);
    const evicted = this.evictStmt.run(this.maxRows).changes;
    if (evicted > 0) this.evictedPut.run(String(evicted));
    return {
      seq: row.seq,
      rpc: row.rpc,
      key: row.key,
      payload: row.payload,
      error,
      createdMs: row.created_ms,
      rejectedMs: nowMs,
    };
  }

  /** The newest `limit` rows, newest first. */
  rows(limit = 100): RejectedRow[] {
    return (this.listStmt.all(limit) as RawRejected[]).map(fromRawRejected);
  }

  /** Re-reads count, evictions and the newest row from disk. */
  refresh(): void {
    const r = this.statsStmt.get() as { n: number; e: string | null };
    this.countValue = r.n;
    this.evictedValue = Number(r.e ?? 0) || 0;
    const newest = this.listStmt.get(1) as RawRejected | undefined;
    this.newestValue = summarize(newest === undefined ? undefined : fromRawRejected(newest));
  }

  /** Sets the gauges when they moved (each set costs a label hash). */
  publish(gauges: RejectedGauges): void {
    if (this.countValue !== this.publishedCount) {
      this.publishedCount = this.countValue;
      gauges.rejected?.set(this.countValue);
    }
    if (this.evictedValue !== this.publishedEvicted) {
      this.publishedEvicted = this.evictedValue;
      gauges.rejectedEvicted?.set(this.evictedValue);
    }
  }

  get count(): number {
    return this.countValue;
  }

  get evicted(): number {
    return this.evictedValue;
  }

  /** The newest row as last read, without its payload. */
  get newest(): RejectedSummary | undefined {
    return this.newestValue;
  }

  /** Sets the newest row after an `add` (cheaper than a `refresh`'s list query). */
  set newest(summary: RejectedSummary | undefined) {
    this.newestValue = summary;
  }
}
