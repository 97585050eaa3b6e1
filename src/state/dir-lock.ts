/**
 * One daemon per state directory: an exclusive lock held for the life of the process.
 *
 * The lock is SQLite's own: `sightline.lock` (a tiny SQLite file) opened with
 * `locking_mode = EXCLUSIVE` and written once, so the connection holds the file's exclusive POSIX
 * (fcntl) lock until it closes. The operating system drops such a lock when the process ends in any
 * way, kill -9 included, so a crashed daemon never leaves a stale lock and nothing has to guess
 * from pids or ages (as lockfile-by-mkdir packages must). It needs no native add-on beyond the
 * SQLite driver the state database already uses, and works wherever that database works.
 *
 * The holder writes its pid to `sightline.lock.pid` after taking the lock; a second daemon that
 * finds the lock held throws StateRefusedError naming that pid (exit 2: an operator must act).
 * `release()` closes the connection (the lock goes with it) and removes the pid file.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StateRefusedError } from './refused.js';

const STATE_LOCK_FILE = 'sightline.lock';
const STATE_LOCK_PID_FILE = 'sightline.lock.pid';

export interface StateDirLock {
  readonly file: string;
  release(): void;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function holderPid(dir: string): string {
  try {
    const text = readFileSync(join(dir, STATE_LOCK_PID_FILE), 'utf8').trim();
    return /^\d{1,10}$/.test(text) ? `pid ${text}` : 'a process whose pid is not recorded';
  } catch {
    return 'a process whose pid is not recorded yet';
  }
}

/** Takes the state directory's lock (the directory must exist), or throws StateRefusedError naming the holder. */
export function lockStateDir(dir: string, pid: number = process.pid): StateDirLock {
  const file = join(dir, STATE_LOCK_FILE);
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE locking mode it is kept after COMMIT.
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL)');
    db.prepare('INSERT OR REPLACE INTO holder (id, pid) VALUES (1, ?)').run(pid);
  } catch (err) {
    db.close();
    if (isBusy(err)) {
      throw new StateRefusedError(
        `state directory ${dir} is in use by another sightline (${holderPid(dir)}); ` +
          'one daemon per state directory: stop the other one or give this one its own stateDir',
        { cause: err },
      );
    }
    throw err;
  }
  writeFileSync(join(dir, STATE_LOCK_PID_FILE), `${pid}\n`);
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      rmSync(join(dir, STATE_LOCK_PID_FILE), { force: true });
      db.close();
    },
  };
}
