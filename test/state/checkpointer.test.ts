/**
 * Background WAL checkpoints (src/state/checkpointer.ts): a worker thread copies committed WAL
 * frames into the database file, so the sink's commits do not pay for it; it stops with the
 * database, and a worker that cannot work is reported once while SQLite checkpoints on commit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openStateDatabase, STATE_DB_FILE, WAL_AUTOCHECKPOINT_PAGES } from '../../src/state/database.js';
import { BackgroundCheckpointer } from '../../src/state/checkpointer.js';
import { ConsoleSink } from '../../src/console/sink.js';
import { captureLogger, makeCluster, makeWorkload, tempDir, until } from '../console/helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const t = tempDir('sl-ckpt-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A state database in a new directory with `events` one-event transactions written to it. */
function written(events: number) {
  const d = dir();
  const log = captureLogger();
  const db = openStateDatabase(d, { logger: log.logger });
  cleanups.unshift(() => db.close());
  const file = join(d, STATE_DB_FILE);
  const before = statSync(file).size;
  const sink = new ConsoleSink(db, { logger: log.logger });
  const c = makeCluster(1);
  for (let k = 0; k < events; k++)
    sink.handle({
      type: 'ADDED',
      sourceId: 's',
      key: `w${k}`,
      object: { kind: 'workload', workload: makeWorkload(c, k) },
    });
  return { d, log, db, file, before };
}

describe('background WAL checkpoints', () => {
  it('copy committed frames into the database file from another thread, long before the auto-checkpoint', async () => {
    // 300 one-event transactions: about 1,500 WAL pages, far below the 16,384 that make SQLite
    // checkpoint inside a commit; only the worker copies them into the database file.
    const { log, file, before } = written(300);
    expect(WAL_AUTOCHECKPOINT_PAGES).toBeGreaterThan(1_500 * 2);
    await until(() => statSync(file).size > before + 300 * 1024, 10_000, 'the worker to copy frames');
    expect(log.text()).not.toMatch(/background WAL checkpoints/);
  });

  it('close() returns only after the worker closed its connection: nothing of SQLite is left in the directory', async () => {
    const { d, db, file, before } = written(100);
    // The worker has its connection open once it has copied frames.
    await until(() => statSync(file).size > before, 10_000, 'the worker to copy frames');
    db.close();
    // The last connection to close removes -wal and -shm: had the worker's still been open, both would remain.
    expect(readdirSync(d)).toEqual([STATE_DB_FILE]);
  });

  it('stop, and report a worker that cannot open its database once, at warn', async () => {
    const log = captureLogger();
    const broken = BackgroundCheckpointer.start(join(dir(), 'absent', STATE_DB_FILE), log.logger);
    await broken?.exited;
    const warnings = log.lines.filter((l) => l.includes('background WAL checkpoints stopped'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40 });

    const d = dir();
    const db = openStateDatabase(d, { logger: log.logger, backgroundCheckpoints: false });
    cleanups.unshift(() => db.close());
    const ok = BackgroundCheckpointer.start(join(d, STATE_DB_FILE), log.logger);
    ok?.stop();
    await ok?.exited;
    expect(log.lines.filter((l) => l.includes('background WAL checkpoints'))).toHaveLength(1);
  });
});
