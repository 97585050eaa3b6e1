/**
 * The state database: one SQLite file `sightline.db` under stateDir (WAL, synchronous=NORMAL)
 * holding the console outbox (and the rows the console rejected), coalesced heartbeats, watch cursors + per-source snapshots and the
 * KeyValueCache.
 *
 * Durability: each transaction is atomic; with WAL + synchronous=NORMAL a committed transaction
 * survives a process crash (kill -9). A power loss may lose the last commits but never leaves a
 * half-written transaction. Write transactions begin IMMEDIATE; WAL checkpoints run mostly on a
 * worker thread (checkpointer.ts), with SQLite's auto-checkpoint on commit as the backstop.
 *
 * Failure: a database that cannot be opened or fails `PRAGMA quick_check` (corrupt, not a database)
 * is reported (logged at error level and returned in `openStatus`), moved aside as
 * `sightline.db.corrupt-<ts>` (with its -wal/-shm files), and a fresh database is created; the
 * watch engine's relist then rebuilds the state. A 0-byte file is used as new, with a warning. A
 * fresh database (new, rebuilt or 0-byte) owes the console a full-state resync (`resyncPending`).
 * A database from a newer schema (a rollback) is NOT moved aside: `openStateDatabase` throws
 * StateRefusedError (exit 2), keeping its outbox. If creating fails (directory not writable),
 * it throws an error naming the file and the cause. Writes that fail for storage reasons (disk
 * full, read-only, I/O) are recorded in `writeHealth` and rethrown for the writer to retry.
 */
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { ClusterObject } from '../model/index.js';
import type { WatchCheckpoint } from '../watch/events.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import { gauge } from '../runtime/metrics.js';
import { defaults } from '../config/defaults.js';
import type { KeyValueCache } from '../provider/cache.js';
import { migrate, SCHEMA_VERSION, SchemaTooNewError } from './schema.js';
import { StateWriteHealth } from './write-health.js';
import { StateRefusedError } from './refused.js';

export { StateRefusedError } from './refused.js';
import { counter } from '../runtime/metrics.js';
import { Outbox } from './outbox.js';
import { DEFAULT_MAX_REJECTED_ROWS } from './rejected-table.js';
import { SnapshotStore } from './snapshots.js';
import { ActivityStore } from './activity-store.js';
import { BackgroundCheckpointer } from './checkpointer.js';

export const STATE_DB_FILE = 'sightline.db';
/** Meta key holding the generation of a resync owed to the console (see StateDatabase.resyncPending). */
const RESYNC_META_KEY = 'resync_pending';
export const WAL_AUTOCHECKPOINT_PAGES = 16384;
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

interface StateDatabaseOptions {
  logger: Logger;
  metrics?: CoreMetrics;
  /** Outbox size (payload bytes) past which health reports unhealthy. Default console.outboxMaxBytes. */
  maxBytes?: number;
  /** Clock for the corrupt-file suffix (tests). Default Date.now. */
  nowMs?: () => number;
  /** Rows kept in `outbox_rejected` (the newest). Default 10,000. */
  maxRejectedRows?: number;
  /** Copy WAL frames into the database file from a worker thread (checkpointer.ts). Default true. */
  backgroundCheckpoints?: boolean;
  /** Called with the open connection (tests use it to cap the size with max_page_count: a full disk). */
  onOpen?: (db: SqliteDatabase) => void;
}

type OpenStatus =
  | { state: 'created' | 'opened' }
  /** The file existed with 0 bytes (e.g. a crash while it was created, a truncated copy): used as new. */
  | { state: 'created'; empty: true }
  | { state: 'recovered'; reason: string; movedTo: string };

export interface StateDatabase extends KeyValueCache {
  readonly file: string;
  /** How opening went; `recovered` means a corrupt database was set aside and a fresh one created. */
  readonly openStatus: OpenStatus;
  /** Random id of this database instance (part of every batch id, so a fresh database never reuses one). */
  readonly instanceId: string;
  readonly outbox: Outbox;
  readonly snapshots: SnapshotStore;
  readonly activity: ActivityStore;
  /** The watch engine's saved state for a source, or undefined when there is none. */
  loadCheckpoint(sourceId: string): WatchCheckpoint<ClusterObject> | undefined;
  /**
   * The generation of a full-state resync still owed to the console, or undefined. Set when the
   * database is created (fresh, rebuilt after corruption, a new volume) and by `requestResync`;
   * cleared by ConsoleSink.resync in the transaction that appends the resync rows, so a crash in
   * between owes it still.
   */
  readonly resyncPending: number | undefined;
  /** Owes the console a full-state resync (e.g. a new leader whose state may be stale). */
  requestResync(generation: number): void;
  /** Marks the resync as appended (call inside the transaction that appends it). */
  clearResync(generation: number): void;
  /** Whether writes succeed: the last write's storage failure (disk full, read-only...), if any. */
  readonly writeHealth: StateWriteHealth;
  /** A cheap write (one meta row) whose outcome lands in writeHealth; never throws. */
  probeWrite(): boolean;
  /**
   * Runs `fn` in one SQLite write transaction (BEGIN IMMEDIATE; nested calls join the outer one).
   * Its outcome is recorded in writeHealth; the error is rethrown for the caller to retry.
   */
  transaction<T>(fn: () => T): T;
  close(): void;
  /**
   * Resolves once, after close(), every connection this database opened is closed (the background
   * checkpointer's thread closes its own a little later): nothing touches the files after that.
   */
  whenClosed(): Promise<void>;
  readonly closed: boolean;
}

function openAndCheck(file: string): SqliteDatabase {
  const db = new Database(file);
  try {
    // Before anything writes to it: a newer schema is refused as it is (see SchemaTooNewError).
    const version = db.pragma('user_version', { simple: true });
    if (typeof version === 'number' && version > SCHEMA_VERSION) migrate(db);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // The background checkpointer copies WAL frames into the database file as they come; SQLite's own
    // checkpoint on commit (the only fsyncs in WAL + NORMAL) is the backstop that bounds the WAL and
    // restarts it every ~64 MiB (the journal_size_limit). Each one fsyncs on the event loop, so the
    // bound is large enough that it runs rarely and finds little to copy.
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function moveAside(file: string, suffix: string): string {
  const target = `${file}.corrupt-${suffix}`;
  renameSync(file, target);
  for (const ext of ['-wal', '-shm']) {
    if (existsSync(file + ext)) renameSync(file + ext, target + ext);
  }
  return target;
}

export function openStateDatabase(dir: string, opts: StateDatabaseOptions): StateDatabase {
  const logger = opts.logger;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, STATE_DB_FILE);
  const existed = existsSync(file);
  const empty = existed && statSync(file).size === 0 && !existsSync(`${file}-wal`);
  if (empty)
    logger.warn(
      { file },
      'state database file is empty (0 bytes): treating it as a new database; a full-state resync of the console follows',
    );
  let db: SqliteDatabase;
  let status: OpenStatus;
  try {
    db = openAndCheck(file);
    status = empty ? { state: 'created', empty: true } : { state: existed ? 'opened' : 'created' };
  } catch (err) {
    if (err instanceof SchemaTooNewError) {
      throw new StateRefusedError(
        `state database ${file} was written by a newer sightline: ${err.message}. ` +
          'Refusing to start rather than lose its pending changes: run the newer version, or move the file aside to start afresh (a full-state resync follows).',
        { cause: err },
      );
    }
    const reason = err instanceof Error ? err.message : String(err);
    if (!existsSync(file)) {
      throw new Error(`cannot create state database ${file}: ${reason}`, { cause: err });
    }
    const ts = new Date((opts.nowMs ?? Date.now)()).toISOString().replace(/[:.]/g, '-');
    let movedTo: string;
    try {
      movedTo = moveAside(file, ts);
    } catch (moveErr) {
      const m = moveErr instanceof Error ? moveErr.message : String(moveErr);
      throw new Error(`state database ${file} is unreadable (${reason}) and could not be moved aside: ${m}`, {
        cause: moveErr,
      });
    }
    logger.error(
      { file, movedTo, reason },
      'state database is corrupt or unreadable; moved it aside and starting with a fresh one (a relist rebuilds the state)',
    );
    try {
      db = openAndCheck(file);
    } catch (err2) {
      const m = err2 instanceof Error ? err2.message : String(err2);
      throw new Error(`cannot create a fresh state database ${file}: ${m}`, { cause: err2 });
    }
    status = { state: 'recovered', reason, movedTo };
  }
  opts.onOpen?.(db);
  return new SqliteStateDatabase(db, file, status, opts);
}

class SqliteStateDatabase implements StateDatabase {
  readonly outbox: Outbox;
  readonly snapshots: SnapshotStore;
  readonly activity: ActivityStore;
  readonly instanceId: string;
  readonly writeHealth: StateWriteHealth;
  private readonly kvGet;
  private readonly kvSet;
  private readonly metaGet;
  private readonly metaPut;
  private readonly metaClear;
  private isClosed = false;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  private readonly checkpointer: BackgroundCheckpointer | undefined;
  /** One reusable transaction wrapper, BEGIN IMMEDIATE (creating one per call is measurably slower). */
  private readonly runInTransaction: (fn: () => unknown) => unknown;

  constructor(
    private readonly db: SqliteDatabase,
    readonly file: string,
    readonly openStatus: OpenStatus,
    opts: StateDatabaseOptions,
  ) {
    const registry = opts.metrics?.registry;
    this.logger = opts.logger;
    this.nowMs = opts.nowMs ?? Date.now;
    this.writeHealth = new StateWriteHealth(
      file,
      opts.nowMs ?? Date.now,
      registry
        ? counter(
            registry,
            'sightline_state_write_failures_total',
            'State database writes that failed for storage reasons (disk full, read-only, I/O error, locked), retried with backoff',
            ['reason'],
          )
        : undefined,
    );
    this.outbox = new Outbox(
      db,
      opts.maxBytes ?? defaults.console.outboxMaxBytes,
      opts.logger,
      {
        ...(opts.metrics ? { depth: opts.metrics.queueDepth } : {}),
        ...(registry
          ? {
              bytes: gauge(registry, 'sightline_outbox_bytes', 'Bytes of pending console writes', ['queue']),
              rejected: gauge(
                registry,
                'sightline_outbox_rejected_rows',
                'Outbox rows set aside in outbox_rejected (rejected by the console on their own, or unsendable); not re-sent unless requeued',
                [],
              ),
              rejectedEvicted: gauge(
                registry,
                'sightline_outbox_rejected_evicted_rows',
                'Rejected outbox rows deleted past the outbox_rejected cap, over the state database life',
                [],
              ),
            }
          : {}),
      },
      opts.maxRejectedRows ?? DEFAULT_MAX_REJECTED_ROWS,
    );
    // IMMEDIATE: take the write lock at BEGIN. A deferred transaction that read first and then writes
    // fails at once with SQLITE_BUSY if another connection holds the write lock at that moment (a
    // `records requeue`, or a reader re-reading a torn WAL header), as SQLite cannot wait there
    // without risking a deadlock; at BEGIN it waits (busy_timeout).
    this.runInTransaction = db.transaction((fn: () => unknown) => fn()).immediate;
    this.checkpointer =
      (opts.backgroundCheckpoints ?? true) ? BackgroundCheckpointer.start(file, opts.logger) : undefined;
    this.snapshots = new SnapshotStore(db, opts.logger);
    this.activity = new ActivityStore(db);
    this.kvGet = db.prepare<[string, string], { value: string }>(
      'SELECT value FROM kv WHERE ns = ? AND key = ?',
    );
    this.kvSet = db.prepare<[string, string, string]>(
      'INSERT INTO kv (ns, key, value) VALUES (?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value',
    );
    this.metaGet = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    this.metaPut = db.prepare<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.metaClear = db.prepare<[string, string]>('DELETE FROM meta WHERE key = ? AND value = ?');
    const existing = db
      .prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'instance_id'")
      .get();
    if (existing !== undefined) {
      this.instanceId = existing.value;
    } else {
      this.instanceId = randomBytes(8).toString('hex');
      db.prepare("INSERT INTO meta (key, value) VALUES ('instance_id', ?)").run(this.instanceId);
    }
    // A database without state (new, or rebuilt after corruption) owes the console a full resync:
    // whatever the console holds from before (a lost outbox's deletions) is only corrected by one.
    if (openStatus.state !== 'opened' && this.resyncPending === undefined)
      this.requestResync((opts.nowMs ?? Date.now)());
  }

  get(namespace: string, key: string): string | undefined {
    return this.kvGet.get(namespace, key)?.value;
  }

  /** A cache write: when the database refuses it (disk full...), it is recorded in writeHealth and skipped. */
  set(namespace: string, key: string, value: string): void {
    try {
      this.transaction(() => this.kvSet.run(namespace, key, value));
    } catch (err) {
      if (this.writeHealth.failure === undefined || this.isClosed) throw err;
    }
  }

  loadCheckpoint(sourceId: string): WatchCheckpoint<ClusterObject> | undefined {
    return this.snapshots.load(sourceId);
  }

  get resyncPending(): number | undefined {
    const r = this.metaGet.get(RESYNC_META_KEY);
    const n = r === undefined ? NaN : Number(r.value);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  }

  requestResync(generation: number): void {
    this.metaPut.run(RESYNC_META_KEY, String(Math.max(1, Math.trunc(generation))));
  }

  clearResync(generation: number): void {
    this.metaClear.run(RESYNC_META_KEY, String(generation));
  }

  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    let result: T;
    try {
      result = this.runInTransaction(fn) as T;
    } catch (err) {
      this.outbox.recount();
      const before = this.writeHealth.failure;
      const f = this.writeHealth.failed(err);
      if (f !== undefined && before === undefined)
        this.logger.error(
          { file: this.file, reason: f.kind, code: f.code },
          'state database write failed; pausing the watch pipeline and retrying with backoff (nothing accepted is dropped)',
        );
      throw err;
    }
    if (this.writeHealth.failure === undefined) {
      this.writeHealth.lastOkMs = this.nowMs();
    } else {
      const ended = this.writeHealth.succeeded();
      this.logger.info(
        { file: this.file, reason: ended?.kind, failedWrites: ended?.failures },
        'state database writable again; resuming',
      );
    }
    return result;
  }

  probeWrite(): boolean {
    if (this.isClosed) return false;
    try {
      this.transaction(() => this.metaPut.run('liveness_probe', String(this.nowMs())));
      return true;
    } catch {
      return false;
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.checkpointer?.stop();
    this.db.close();
  }

  whenClosed(): Promise<void> {
    return this.checkpointer?.exited ?? Promise.resolve();
  }
}
