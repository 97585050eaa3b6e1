/**
 * Operator access to `outbox_rejected` from another process (`sightline records rejected` and
 * `sightline records requeue`), also while the daemon runs on the same state database.
 *
 * - Listing opens the file read-only: it never creates, migrates, repairs or moves the database
 *   aside (as the daemon's `openStateDatabase` would), and in WAL mode a reader sees the last
 *   committed state without blocking the daemon's writes.
 * - Requeue opens it read-write and, in one IMMEDIATE transaction (SQLite serializes it with the
 *   daemon's transactions; it waits up to 5 s for one to finish), moves one rejected row back to the
 *   end of the outbox with a new seq past every seq ever used (the table and the floor), and bumps
 *   meta `outbox_external_changes`. A running daemon continues its own seqs after that row and
 *   re-reads its counts at its next acknowledgement (see Outbox); a stopped one starts after it.
 *   There is no reliable way to tell from the file whether a daemon has it open, and none is needed.
 *   Refused, with the reason: no such row; an rpc this version does not know or a payload that is
 *   not a JSON object (it would only be set aside again); a key with a change still pending in the
 *   outbox (necessarily newer: rows leave in seq order), which the older row would overwrite on the
 *   console. A newer change of the key that was already delivered cannot be seen here: the requeued
 *   row then sets the older state on the console until the object changes again.
 *
 * Failure: every problem is a RejectedRowsError with a message for the operator (file names, seqs,
 * keys; never payloads).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { STATE_DB_FILE } from './database.js';
import { EXTERNAL_CHANGES_META_KEY } from './outbox.js';
import { isOutboxRpc } from './outbox-row.js';
import type { RawRejected, RejectedRow } from './rejected-table.js';
import { fromRawRejected } from './rejected-table.js';
import { SCHEMA_VERSION } from './schema.js';

/** The first schema version with `outbox_rejected`. */
const REJECTED_TABLE_SINCE = 2;
const BUSY_TIMEOUT_MS = 5_000;

export class RejectedRowsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RejectedRowsError';
  }
}

export interface RejectedListing {
  /** Rows in `outbox_rejected`. */
  kept: number;
  /** Rows evicted past the cap over the database's life. */
  evicted: number;
  /** The newest `limit` rows, newest first. */
  rows: RejectedRow[];
}

interface RequeueResult {
  /** The row as it was kept in `outbox_rejected` (its seq is the old one). */
  row: RejectedRow;
  /** Its new seq at the end of the outbox. */
  newSeq: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Opens an existing state database without creating, migrating or repairing anything. */
function openExisting(stateDir: string, readonly: boolean): { db: SqliteDatabase; version: number } {
  const file = join(stateDir, STATE_DB_FILE);
  if (!existsSync(file)) throw new RejectedRowsError(`no state database at ${file}`);
  let db: SqliteDatabase;
  try {
    db = new Database(file, { readonly, fileMustExist: true });
  } catch (err) {
    throw new RejectedRowsError(`cannot open ${file}: ${message(err)}`, { cause: err });
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const version = db.pragma('user_version', { simple: true });
    if (typeof version !== 'number') throw new RejectedRowsError(`cannot read the schema version of ${file}`);
    if (version > SCHEMA_VERSION) {
      throw new RejectedRowsError(
        `${file} has schema version ${version}, newer than this sightline understands (${SCHEMA_VERSION})`,
      );
    }
    return { db, version };
  } catch (err) {
    db.close();
    if (err instanceof RejectedRowsError) throw err;
    throw new RejectedRowsError(`cannot read ${file}: ${message(err)}`, { cause: err });
  }
}

/** The rejected rows kept in the state database under `stateDir`, newest first (read-only). */
export function listRejectedRows(stateDir: string, limit: number): RejectedListing {
  const { db, version } = openExisting(stateDir, true);
  try {
    if (version < REJECTED_TABLE_SINCE) return { kept: 0, evicted: 0, rows: [] };
    const stats = db
      .prepare(
        `SELECT (SELECT count(*) FROM outbox_rejected) AS n,
                (SELECT value FROM meta WHERE key = 'outbox_rejected_evicted') AS e`,
      )
      .get() as { n: number; e: string | null };
    const rows = db
      .prepare(
        `SELECT seq, rpc, key, payload, error, created_ms, rejected_ms FROM outbox_rejected
         ORDER BY seq DESC LIMIT ?`,
      )
      .all(limit) as RawRejected[];
    return { kept: stats.n, evicted: Number(stats.e ?? 0) || 0, rows: rows.map(fromRawRejected) };
  } catch (err) {
    throw new RejectedRowsError(`cannot read the rejected rows: ${message(err)}`, { cause: err });
  } finally {
    db.close();
  }
}

function payloadProblem(payload: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return 'its payload is not valid JSON';
  }
  return value === null || typeof value !== 'object' || Array.isArray(value)
    ? 'its payload is not a JSON object'
    : undefined;
}

/**
 * Moves rejected row `seq` back to the end of the outbox (see the module comment). It keeps the time
 * it was first queued, so the daemon sends it at its next step (no batch delay left to wait for),
 * whatever this process's clock says.
 */
export function requeueRejectedRow(stateDir: string, seq: number): RequeueResult {
  const { db, version } = openExisting(stateDir, false);
  try {
    if (version < REJECTED_TABLE_SINCE) {
      throw new RejectedRowsError(`no rejected row with seq ${seq} (this database has no rejected rows)`);
    }
    const requeue = db.transaction((): RequeueResult => {
      const raw = db
        .prepare(
          `SELECT seq, rpc, key, payload, error, created_ms, rejected_ms FROM outbox_rejected WHERE seq = ?`,
        )
        .get(seq) as RawRejected | undefined;
      if (raw === undefined) {
        throw new RejectedRowsError(
          `no rejected row with seq ${seq} (see 'sightline records rejected'); it may have been requeued or evicted`,
        );
      }
      const row = fromRawRejected(raw);
      if (!isOutboxRpc(row.rpc)) {
        throw new RejectedRowsError(
          `rejected row ${seq} has rpc ${JSON.stringify(row.rpc)}, which this sightline cannot send; ` +
            'requeued, it would only be set aside again (use the sightline version that wrote it)',
        );
      }
      const problem = payloadProblem(row.payload);
      if (problem !== undefined) {
        throw new RejectedRowsError(
          `rejected row ${seq} cannot be sent: ${problem}; requeued, it would only be set aside again`,
        );
      }
      const newer = db.prepare('SELECT seq FROM outbox WHERE key = ? ORDER BY seq LIMIT 1').get(row.key) as
        { seq: number } | undefined;
      if (newer !== undefined) {
        throw new RejectedRowsError(
          `key ${row.key} has a newer change pending in the outbox (seq ${newer.seq}); requeued after it, ` +
            'the older rejected row would overwrite it on the console, so it is left where it is',
        );
      }
      const highest = db
        .prepare(
          `SELECT max(coalesce((SELECT max(seq) FROM outbox), 0),
                      coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_seq_floor'), 0)) AS m`,
        )
        .get() as { m: number };
      const newSeq = highest.m + 1;
      db.prepare(
        'INSERT INTO outbox (seq, rpc, key, payload, bytes, created_ms) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(newSeq, row.rpc, row.key, row.payload, Buffer.byteLength(row.payload), row.createdMs);
      db.prepare('DELETE FROM outbox_rejected WHERE seq = ?').run(seq);
      db.prepare(
        `INSERT INTO meta (key, value) VALUES ('${EXTERNAL_CHANGES_META_KEY}', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1`,
      ).run();
      return { row, newSeq };
    });
    return requeue.immediate();
  } catch (err) {
    if (err instanceof RejectedRowsError) throw err;
    throw new RejectedRowsError(`could not requeue rejected row ${seq}: ${message(err)}`, { cause: err });
  } finally {
    db.close();
  }
}
