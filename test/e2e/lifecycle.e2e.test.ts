/**
 * The daemon's lifecycle around its state directory, with the real `sightline run` process:
 * - SIGTERM while the console is down exits 0 (what is pending is durable) and logs the count;
 *   the next run delivers it;
 * - one daemon per state directory: a second one exits 2 naming the holder's pid; the lock goes
 *   with the holder, kill -9 included;
 * - a database from a newer sightline is refused (exit 2), left where it is with its outbox;
 * - a corrupt database loses its pending outbox, deletions included: the rebuilt database resyncs
 *   every cluster, and the console ends up with exactly the providers' truth (nothing extra).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { STATE_DB_FILE } from '../../src/state/database.js';
import { World, difference, eventually, liveSightings, truthSightings } from './world.js';

const root = resolve(import.meta.dirname, '../..');
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function converged(w: World, timeoutMs = 60_000): Promise<void> {
  let last = '';
  try {
    await eventually(
      'console equals truth',
      async () => {
        const [records, truth] = await Promise.all([w.records(), w.truth()]);
        const live = liveSightings(records);
        const want = truthSightings(truth);
        last = `missing ${difference(want, live).join(', ')}; extra ${difference(live, want).join(', ')}`;
        return difference(want, live).length === 0 && difference(live, want).length === 0;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${String(err)}: ${last}`, { cause: err });
  }
}

/** GET /healthz of the running watcher. */
async function healthz(w: World): Promise<{ checks: { console?: { detail?: { pending?: number } } } }> {
  const res = await fetch(`http://127.0.0.1:${w.watcherPort() ?? 0}/healthz`);
  return (await res.json()) as { checks: { console?: { detail?: { pending?: number } } } };
}

/** `sightline run` with the world's config, to completion (a second daemon, a refused start). */
function runToExit(w: World, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(root, 'bin/sightline.js'), 'run', '--config', w.configFile], {
    cwd: root,
    env: { ...process.env, ...w.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((r) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      r({ code, output });
    }),
  );
}

const text = (lines: string[]): string => lines.join('\n');

describe('daemon lifecycle and the state directory (real process)', () => {
  it('SIGTERM while the console is down exits 0, logs what stays pending, and the next run sends it', async () => {
    world = await World.start();
    const w = world;
    const proc = w.startWatcher();
    await converged(w);
    await w.stopConsole();
    w.playStep(0);
    w.playStep(1);
    await eventually(
      'changes pending in the outbox',
      async () => ((await healthz(w)).checks.console?.detail?.pending ?? 0) > 0,
      40_000,
    );
    // 0, not the 10 s shutdown deadline's 1: it does not wait out the console's backoff.
    const code = await w.stopWatcher('SIGTERM');
    expect(code).toBe(0);
    const out = text(proc.output);
    expect(out).toMatch(
      /"level":30[^\n]*"pending":[1-9]\d*[^\n]*changes pending; they are durable in the outbox/,
    );
    expect(out).not.toContain('exiting with work pending');

    await w.restartConsole();
    w.startWatcher();
    await converged(w);
  }, 240_000);

  it('one daemon per state directory: the second exits 2 naming the holder; the lock is released after kill -9', async () => {
    world = await World.start();
    const w = world;
    const first = w.startWatcher();
    await eventually('first daemon running', () => text(first.output).includes('sightline running'), 60_000);
    const second = await runToExit(w);
    expect(second.code).toBe(2);
    expect(second.output).toContain(`in use by another sightline (pid ${first.child.pid})`);

    expect(await w.stopWatcher('SIGKILL')).toBe(null);
    const third = w.startWatcher();
    await eventually(
      'a daemon after kill -9 takes the lock',
      () => text(third.output).includes('sightline running'),
      60_000,
    );
    // (Release on a clean exit: the SIGTERM test's second run takes the lock after the first exited.)
    expect(await w.stopWatcher('SIGTERM')).toBe(0);
  }, 240_000);

  it('refuses a database from a newer sightline (exit 2) and leaves it, outbox and all, where it is', async () => {
    world = await World.start();
    const stateDir = join(world.dir, 'state');
    mkdirSync(stateDir, { recursive: true });
    const file = join(stateDir, STATE_DB_FILE);
    const newer = new Database(file);
    newer.exec(
      "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, payload TEXT); INSERT INTO outbox VALUES (1, 'from v9');",
    );
    newer.pragma('user_version = 99');
    newer.close();
    const r = await runToExit(world);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(
      /written by a newer sightline: state database schema version 99 is newer than this sightline understands/,
    );
    expect(readdirSync(stateDir).filter((f) => f.includes('corrupt'))).toEqual([]);
    const kept = new Database(file, { readonly: true });
    expect(kept.prepare('SELECT payload FROM outbox').pluck().all()).toEqual(['from v9']);
    kept.close();
  }, 60_000);

  it('after a corrupt database lost pending deletions, the resync makes the console equal the truth', async () => {
    world = await World.start();
    const w = world;
    w.startWatcher();
    await converged(w);
    // Changes (deletions among them) while the console is down stay in the outbox ...
    await w.stopConsole();
    for (let i = 0; i < 6; i++) w.playStep(i);
    await eventually(
      'changes pending in the outbox',
      async () => ((await healthz(w)).checks.console?.detail?.pending ?? 0) > 5,
      40_000,
    );
    await w.stopWatcher('SIGKILL');
    // ... and are lost with the file.
    const stateDir = join(w.dir, 'state');
    for (const f of readdirSync(stateDir))
      if (f.startsWith(`${STATE_DB_FILE}-`)) writeFileSync(join(stateDir, f), '');
    writeFileSync(join(stateDir, STATE_DB_FILE), Buffer.alloc(16384, 0x5a));
    await w.restartConsole();
    const proc = w.startWatcher();
    await converged(w, 90_000);
    const out = text(proc.output);
    expect(out).toContain('state database is corrupt or unreadable; moved it aside');
    expect(out).toContain('full-state resync queued for the console');
  }, 240_000);
});
