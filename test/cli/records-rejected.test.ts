/**
 * `sightline records rejected` and `sightline records requeue`, spawned as processes against a state
 * database that a ConsoleClient (the daemon's) has open, over real gRPC on loopback. The CLI runs
 * from the sources (src/cli/main.ts through tsx, as bin/sightline.js does in a checkout without a
 * build), so a stale dist/ cannot stand in for it. The client runs on a virtual clock that only the
 * tests advance, so what it sends, and when, is decided by the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ConsoleSink } from '../../src/console/sink.js';
import type { ClusterObject, Workload } from '../../src/model/index.js';
import type { WatchEvent } from '../../src/watch/events.js';
import { STATE_DB_FILE } from '../../src/state/database.js';
import {
  clientRig,
  consoleConfig,
  handleBurst,
  makeCluster,
  makeWorkload,
  startRecordingConsole,
  tempDir,
  until,
  virtualClock,
  writeToken,
} from '../console/helpers.js';
import type { ClientRig, Recorder } from '../console/helpers.js';

const root = resolve(import.meta.dirname, '../..');
const TOKEN = 'cli-rejected-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the client and the test console answer from it). */
function sightline(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, 'bin/run-ts.js'), 'src/cli/main.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

type Daemon = ClientRig & {
  sink: ConsoleSink;
  clock: ReturnType<typeof virtualClock>;
  stateDir: string;
  close: () => Promise<void>;
};

/** What the daemon holds for the console: a state database, a sink and a client (virtual time, no batch delay). */
function daemonAt(dir: string, address: string): Daemon {
  const clock = virtualClock();
  const stateDir = join(dir, 'state');
  const rig = clientRig(
    stateDir,
    consoleConfig(address, writeToken(dir, TOKEN), { batchMaxItems: 500, batchMaxDelayMs: 0 }),
    { scheduler: clock.scheduler },
  );
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const stopped = rig.client.stop(1_000);
    clock.scheduler.flush();
    await stopped;
    rig.db.close();
  };
  cleanups.push(close);
  const sink = new ConsoleSink(rig.db, { logger: rig.log.logger, scheduler: clock.scheduler });
  return { ...rig, sink, clock, stateDir, close };
}

function workDir(): string {
  const t = tempDir('sl-cli-rejected-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function recorder(): Promise<Recorder> {
  const rec = await startRecordingConsole();
  cleanups.push(() => rec.stop());
  return rec;
}

const c = makeCluster(1);
const upsert = (k: number, overrides: Partial<Workload> = {}): WatchEvent<ClusterObject> => ({
  type: 'ADDED',
  sourceId: 't',
  key: `w${k}`,
  object: { kind: 'workload', workload: makeWorkload(c, k, k, overrides) },
});
const drained = (d: Daemon) => until(() => d.db.outbox.count === 0, 15_000, 'outbox drained');
const names = (rec: Recorder) => rec.accepted.map((w) => w.name);

/** A running daemon whose console rejected task-1 and task-3 (names "poison-…"); seqs 2 and 4. */
async function daemonWithRejections(): Promise<{ rec: Recorder; d: Daemon; dir: string }> {
  const rec = await recorder();
  const dir = workDir();
  const d = daemonAt(dir, rec.address);
  handleBurst(
    d.db,
    d.sink,
    [0, 1, 2, 3].map((k) => upsert(k, k % 2 === 1 ? { name: `poison-${k}` } : {})),
  );
  d.client.start();
  await drained(d);
  expect(d.db.outbox.rejectedRows().map((r) => r.seq)).toEqual([4, 2]);
  return { rec, d, dir };
}

describe('sightline records rejected', () => {
  it('lists the rejected rows (table and JSON with payloads) while the daemon has the database open', async () => {
    const { rec, d } = await daemonWithRejections();
    const reason = 'ReportSightings failed: INVALID_ARGUMENT: a sighting is invalid';

    const table = await sightline('records', 'rejected', '--state-dir', d.stateDir);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+REJECTED\s+RPC\s+KEY\s+REASON$/);
    expect(lines[1]).toMatch(
      new RegExp(`^4\\s+1970-01-01T00:00:00Z\\s+sightings\\s+workload/${c.id}/task-3\\s+${reason}$`),
    );
    expect(lines[2]).toMatch(
      /^2\s+1970-01-01T00:00:00Z\s+sightings\s+workload\/\S+\/task-1\s+ReportSightings/,
    );
    expect(lines[3]).toBe('2 of 2 rejected row(s) shown, newest first');

    const json = await sightline('records', 'rejected', '--state-dir', d.stateDir, '--json');
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as {
      kept: number;
      evicted: number;
      rows: Array<{
        seq: number;
        rpc: string;
        key: string;
        reason: string;
        rejected: string;
        payload: unknown;
      }>;
    };
    expect(out).toMatchObject({ kept: 2, evicted: 0 });
    expect(out.rows.map((r) => r.seq)).toEqual([4, 2]);
    expect(out.rows[0]).toMatchObject({ rpc: 'sightings', reason, rejected: '1970-01-01T00:00:00Z' });
    expect(out.rows[0]?.payload).toMatchObject({ workload: { name: 'poison-3', uid: 'task-3' } });

    const limited = await sightline(
      'records',
      'rejected',
      '--state-dir',
      d.stateDir,
      '--limit',
      '1',
      '-o',
      'json',
    );
    expect((JSON.parse(limited.stdout) as { kept: number; rows: unknown[] }).rows).toHaveLength(1);
    for (const r of [table, json, limited]) expect(r.stdout + r.stderr).not.toContain(TOKEN);

    // Read-only: the daemon's view is unchanged and it goes on writing.
    expect(d.db.outbox.rejectedCount).toBe(2);
    d.sink.handle(upsert(4));
    await drained(d);
    expect(names(rec)).toEqual(['task-0', 'task-2', 'task-4']);
  });

  it('reports a missing database (creating nothing) and bad flags', async () => {
    const dir = workDir();
    // Four independent processes, run side by side.
    const [missing, noDir, badLimit, help] = await Promise.all([
      sightline('records', 'rejected', '--state-dir', dir),
      sightline('records', 'rejected'),
      sightline('records', 'rejected', '--state-dir', dir, '--limit', 'lots'),
      sightline('records', 'rejected', '--help'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: no state database at ${join(dir, STATE_DB_FILE)}\n`);
    expect(existsSync(join(dir, STATE_DB_FILE))).toBe(false);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('--state-dir is required');
    expect(noDir.stderr).toContain('Usage: sightline records rejected');
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('--limit must be a whole number');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('safe while the daemon runs');
  });
});

describe('sightline records requeue', () => {
  it('puts a rejected row back while the daemon runs; the daemon appends after it (seq taken under it)', async () => {
    const { rec, d } = await daemonWithRejections();
    rec.mode = 'accept-all'; // the console was fixed

    const r = await sightline('records', 'requeue', '--state-dir', d.stateDir, '--seq', '2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^requeued rejected row 2 \(sightings workload\/\S+\/task-1\) as outbox seq 5: /,
    );
    // The daemon's next append wants seq 5 too: it notices and goes on after it, in the same transaction.
    d.sink.handle(upsert(5));
    await drained(d);

    expect(names(rec)).toEqual(['task-0', 'task-2', 'poison-1', 'task-5']);
    expect(new Set(rec.acceptedBatchIds).size).toBe(rec.acceptedBatchIds.length);
    expect(d.db.outbox.rejectedRows().map((x) => x.seq)).toEqual([4]);
    // The daemon re-read the counts it had missed at its acknowledgement.
    expect(d.client.health()).toMatchObject({ ok: true, pending: 0, rejected: 1, lastRejected: { seq: 4 } });
    expect(d.log.text()).toMatch(/another process appended a row/);
    expect(d.clock.scheduler.now()).toBe(0);
  });

  it('never reuses the requeued seq when the daemon sends it before its next append', async () => {
    const { rec, d } = await daemonWithRejections();
    rec.mode = 'accept-all';
    const r = await sightline('records', 'requeue', '--state-dir', d.stateDir, '--seq', '4');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('as outbox seq 5');
    // The client finds the row at its next step (the rig's heartbeat interval), sends and deletes it.
    await until(
      async () => {
        await d.clock.advance(50);
        return rec.accepted.length === 3;
      },
      10_000,
      'the requeued row',
    );
    expect(d.db.outbox.count).toBe(0);
    d.sink.handle(upsert(5));
    await drained(d);
    expect(names(rec)).toEqual(['task-0', 'task-2', 'poison-3', 'task-5']);
    // Batch ids are <instance>-<first seq>-<last seq>: seq 5 named the requeued row, so task-5 has another.
    expect(rec.acceptedBatchIds.map((id) => id.split('-').slice(1).join('-'))).toEqual([
      '1-1',
      '3-3',
      '5-5',
      '6-6',
    ]);
    expect(d.client.health()).toMatchObject({ pending: 0, rejected: 1 });
  });

  it('puts a row back while the daemon is stopped; it is sent first after the start', async () => {
    const { rec, d, dir } = await daemonWithRejections();
    await d.close();
    rec.mode = 'accept-all';
    expect((await sightline('records', 'requeue', '--state-dir', d.stateDir, '--seq', '2')).code).toBe(0);
    const again = daemonAt(dir, rec.address);
    expect(again.client.health()).toMatchObject({ pending: 1, rejected: 1 });
    again.sink.handle(upsert(5));
    again.client.start();
    await drained(again);
    expect(names(rec)).toEqual(['task-0', 'task-2', 'poison-1', 'task-5']);
  });

  it('refuses, changing nothing: no such row, a newer pending change of the key, a row it cannot send', async () => {
    const { d } = await daemonWithRejections();
    await d.close();
    const none = await sightline('records', 'requeue', '--state-dir', d.stateDir, '--seq', '99');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error: no rejected row with seq 99 /);

    // A newer change of task-1 is waiting in the outbox (the console is unreachable, say).
    const db = new Database(join(d.stateDir, STATE_DB_FILE));
    cleanups.push(() => {
      db.close();
    });
    db.prepare(
      "INSERT INTO outbox (seq, rpc, key, payload, bytes, created_ms) VALUES (7, 'sightings', ?, '{}', 2, 0)",
    ).run(`workload/${c.id}/task-1`);
    const newer = await sightline('records', 'requeue', '--state-dir', d.stateDir, '--seq', '2');
    expect(newer.code).toBe(1);
    expect(newer.stderr).toMatch(/has a newer change pending in the outbox \(seq 7\)/);

    db.prepare(
      "INSERT INTO outbox_rejected (seq, rpc, key, payload, error, created_ms, rejected_ms) VALUES (3, 'frobnicate', 'k', '{}', 'unknown rpc', 0, 0)",
    ).run();
    const unknown = await sightline('records', 'requeue', '--state-dir', d.stateDir, '--seq', '3');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/has rpc "frobnicate", which this sightline cannot send/);

    const rows = db.prepare('SELECT seq FROM outbox_rejected ORDER BY seq').all() as Array<{ seq: number }>;
    expect(rows.map((x) => x.seq)).toEqual([2, 3, 4]);
    expect(db.prepare('SELECT seq FROM outbox').all()).toEqual([{ seq: 7 }]);

    const usage = await sightline('records', 'requeue', '--state-dir', d.stateDir, '--seq', '-3');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: sightline records requeue');
  });
});
