/**
 * Background WAL checkpoints. In WAL mode every commit appends pages to the -wal file, and a
 * checkpoint copies them into the database file and fsyncs both. SQLite runs one inside the commit
 * that crosses `wal_autocheckpoint` pages, so every few thousand events one `ConsoleSink.handle`
 * held the event loop for tens of milliseconds of fsync: about 10 µs per event on average, a sixth
 * of the sink's time. Here a worker thread with its own connection runs PASSIVE checkpoints (they
 * never wait for, nor block, the writer) whenever there are frames to copy, so that work happens on
 * another thread. The main connection keeps its auto-checkpoint as the backstop that bounds the WAL
 * and restarts it; by then the worker has copied nearly everything.
 *
 * Durability is unchanged: a commit is durable once it is in the WAL, whoever copies it later. The
 * worker's connection can briefly take the write lock (re-reading a WAL header it found mid-update);
 * the main connection's transactions begin IMMEDIATE and wait for it (see database.ts).
 * Failure: if the worker cannot start or its checkpoint fails, that is logged once at warn and the
 * main connection checkpoints alone, as before. `stop()` asks the worker to close its connection
 * and waits (blocking, at most STOP_WAIT_MS) until it has: after `StateDatabase.close()` returns no
 * thread of ours touches the files, so a restart, a backup or a removal of the state directory
 * never meets a -wal/-shm the worker recreates. A worker that does not answer in time is
 * terminated. The worker never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

/** Wait after a checkpoint that copied frames (lets a few ms of commits gather), and after one that found none. */
const CHECKPOINT_BUSY_MS = 10;
const CHECKPOINT_IDLE_MS = 100;
/** Longest `stop()` blocks for the worker to close its connection (a checkpoint in flight, or a thread still starting). */
const STOP_WAIT_MS = 5_000;
/** Slots of the shared Int32Array: the main thread asks to stop; the worker says its connection is closed. */
const STOP_REQUESTED = 0;
const CONNECTION_CLOSED = 1;

// CommonJS run with `eval: true`, so it works the same from src/ (tsx) and from dist/; the driver
// is resolved by the main thread and passed as a path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const shared = new Int32Array(workerData.shared);
let db;
let timer;
let backfilled = -1;
function stop() {
  clearTimeout(timer);
  try { if (db !== undefined) db.close(); } catch {}
  db = undefined;
  Atomics.store(shared, ${CONNECTION_CLOSED}, 1);
  Atomics.notify(shared, ${CONNECTION_CLOSED});
  parentPort.close();
}
function fail(err) {
  parentPort.postMessage({ error: String((err && err.message) || err) });
  stop();
}
function tick() {
  if (Atomics.load(shared, ${STOP_REQUESTED}) === 1) { stop(); return; }
  let copied = false;
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    copied = r.checkpointed > 0 && r.checkpointed !== backfilled;
    backfilled = r.checkpointed;
  } catch (err) {
    fail(err);
    return;
  }
  timer = setTimeout(tick, copied ? workerData.busyMs : workerData.idleMs);
}
parentPort.on('message', (m) => { if (m === 'stop') stop(); });
try {
  const Database = require(workerData.driver);
  if (Atomics.load(shared, ${STOP_REQUESTED}) === 1) stop();
  else {
    db = new Database(workerData.file, { fileMustExist: true });
    tick();
  }
} catch (err) {
  fail(err);
}
`;

interface CheckpointerOptions {
  busyMs?: number;
  idleMs?: number;
}

export class BackgroundCheckpointer {
  private stopped = false;
  private hasExited = false;
  /** Resolves once the worker thread has exited (tests). */
  readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    private readonly shared: Int32Array,
  ) {
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        this.hasExited = true;
        resolve();
      }),
    );
  }

  /** Starts the worker for the database `file` (open, in WAL mode); undefined if it cannot start. */
  static start(
    file: string,
    logger: Logger,
    opts: CheckpointerOptions = {},
  ): BackgroundCheckpointer | undefined {
    let worker: Worker;
    const shared = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
    try {
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          file,
          driver,
          shared: shared.buffer,
          busyMs: opts.busyMs ?? CHECKPOINT_BUSY_MS,
          idleMs: opts.idleMs ?? CHECKPOINT_IDLE_MS,
        },
      });
    } catch (err) {
      logger.warn({ err, file }, 'background WAL checkpoints unavailable; SQLite checkpoints on commit');
      return undefined;
    }
    worker.unref();
    const c = new BackgroundCheckpointer(worker, shared);
    let reported = false;
    const report = (error: unknown): void => {
      if (c.stopped || reported) return;
      reported = true;
      logger.warn({ error, file }, 'background WAL checkpoints stopped; SQLite checkpoints on commit');
    };
    worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) report(m.error);
    });
    worker.on('error', (err) => report(err.message));
    return c;
  }

  /**
   * Asks the worker to close its connection and exit, and returns once its connection is closed
   * (or the worker has failed, or STOP_WAIT_MS passed: then it is terminated).
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.shared, STOP_REQUESTED, 1);
    if (this.hasExited) return;
    this.worker.postMessage('stop');
    const outcome = Atomics.wait(this.shared, CONNECTION_CLOSED, 0, STOP_WAIT_MS);
    if (outcome === 'timed-out') void this.worker.terminate();
  }
}
