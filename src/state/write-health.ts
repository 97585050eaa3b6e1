/**
 * Whether the state database accepts writes, from the outcome of the writes themselves. A storage
 * failure (SQLite says the disk is full, the file or volume is read-only, an I/O error, the file
 * is locked or unopenable) is recorded with its kind and since when; the next successful write
 * clears it. Other errors (a bug, a constraint) are not storage health and are not recorded.
 *
 * The caller retries the failed write (the watch engine's delivery backoff, the console client's
 * backoff, ConsoleSink's activity retry); nothing accepted is dropped meanwhile. `/healthz` shows
 * the failure (kind, SQLite code, file path; never row content), `/livez` fails only once writes
 * failed for `unwritableLivenessMs` in a row, and `sightline_state_write_failures_total{reason}`
 * counts each failed write.
 */
import type { Counter } from 'prom-client';

type StateWriteFailureKind = 'disk_full' | 'read_only' | 'io_error' | 'locked' | 'unopenable';

interface StateWriteFailure {
  kind: StateWriteFailureKind;
  /** The SQLite extended code, e.g. SQLITE_FULL, SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE. */
  code: string;
  /** First failure of this run of failures. */
  sinceMs: number;
  /** Failed writes in this run. */
  failures: number;
  /** The latest failed write. */
  lastMs: number;
}

const KIND_TEXT: Record<StateWriteFailureKind, string> = {
  disk_full: 'disk full',
  read_only: 'read-only',
  io_error: 'I/O error',
  locked: 'locked by another process',
  unopenable: 'cannot be opened',
};

/** The storage failure an error stands for, or undefined when it is something else. */
function storageFailureOf(err: unknown): { kind: StateWriteFailureKind; code: string } | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  if (code === 'SQLITE_FULL') return { kind: 'disk_full', code };
  if (code.startsWith('SQLITE_READONLY')) return { kind: 'read_only', code };
  if (code.startsWith('SQLITE_IOERR')) return { kind: 'io_error', code };
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return { kind: 'locked', code };
  if (code.startsWith('SQLITE_CANTOPEN')) return { kind: 'unopenable', code };
  return undefined;
}

export class StateWriteHealth {
  private current: StateWriteFailure | undefined;
  /** The latest successful write transaction (0: none yet). */
  lastOkMs = 0;

  constructor(
    readonly file: string,
    private readonly nowMs: () => number,
    private readonly failures?: Counter<'reason'>,
  ) {}

  get failure(): StateWriteFailure | undefined {
    return this.current;
  }

  /** Records a failed write; returns the failure when `err` is a storage failure (else undefined). */
  failed(err: unknown): StateWriteFailure | undefined {
    const f = storageFailureOf(err);
    if (f === undefined) return undefined;
    this.failures?.inc({ reason: f.kind });
    const now = this.nowMs();
    if (this.current !== undefined && this.current.kind === f.kind) {
      this.current.failures += 1;
      this.current.code = f.code;
      this.current.lastMs = now;
    } else {
      this.current = { ...f, sinceMs: now, failures: 1, lastMs: now };
    }
    return this.current;
  }

  /** Records a successful write; returns the failure it ended, if any. */
  succeeded(): StateWriteFailure | undefined {
    this.lastOkMs = this.nowMs();
    const ended = this.current;
    this.current = undefined;
    return ended;
  }

  /** One line for /healthz and logs: kind, code, path, since when; no content. */
  describe(): string | undefined {
    const f = this.current;
    if (f === undefined) return undefined;
    const forMs = Math.max(0, this.nowMs() - f.sinceMs);
    return (
      `state database not writable: ${KIND_TEXT[f.kind]} (${f.code}) at ${this.file}, ` +
      `${f.failures} failed writes over ${Math.round(forMs / 1000)} s; retrying with backoff, nothing accepted is lost`
    );
  }
}
