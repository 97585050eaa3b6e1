import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { fetchClusters, fetchRecords } from '../../src/console/views.js';
import { clientRig, consoleConfig, repoRoot, tempDir, until, writeToken } from './helpers.js';

const TOKEN = 'kill-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('kill -9 of the watcher mid-batch', () => {
  it('loses nothing: after restart (re-sending unacknowledged batches) the console matches the persisted snapshot', async () => {
    const t = tempDir('sl-kill-');
    cleanups.push(t.cleanup);
    const server: ReferenceConsole = await startReferenceConsole({
      listen: '127.0.0.1:0',
      dbFile: ':memory:',
      token: TOKEN,
    });
    cleanups.push(() => server.stop());
    const tokenFile = writeToken(t.dir, TOKEN);
    const stateDir = join(t.dir, 'state');

    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'bin', 'run-ts.js'),
        join(repoRoot, 'test/console/fixtures/watcher-child.ts'),
        stateDir,
        server.address,
        tokenFile,
      ],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let lastHandled = -1;
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = chunk.trim().split('\n');
      const n = Number(lines[lines.length - 1]);
      if (Number.isFinite(n)) lastHandled = Math.max(lastHandled, n);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    // Wait until the child is well into modifying and deleting, with batches flowing to the console.
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`child exited early: ${stderr}`);
        if (lastHandled < 1_500) return false;
        const [c] = await fetchClusters(server.address, { token: TOKEN, plaintext: true });
        return (c?.workloads ?? 0) > 100;
      },
      30_000,
      'the child to stream events',
    );
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Restart: reopen the state database and let a new client send what was not acknowledged.
    const rig = clientRig(stateDir, consoleConfig(server.address, tokenFile));
    cleanups.push(async () => {
      await rig.client.stop(500);
      rig.db.close();
    });
    expect(rig.db.openStatus.state).toBe('opened');
    const checkpoint = rig.db.loadCheckpoint('tasks');
    const snapshot = new Map([...(checkpoint?.objects ?? [])].map((o) => [o.key, o.object]));
    expect(snapshot.size).toBeGreaterThan(0);
    rig.client.start();
    await until(() => rig.db.outbox.count === 0, 20_000, 'the restarted client to drain the outbox');

    // Every event the child reported as handled is durable: the snapshot holds the state of the
    // last handled index for its key (or a later one that was committed before the kill).
    // (The same key recurs only 400 events later, so no later event can have overwritten it.)
    const last = snapshot.get(`task-${lastHandled % 400}`);
    if (lastHandled >= 400 && lastHandled % 7 === 0) {
      expect(last).toBeUndefined();
    } else {
      if (last?.kind !== 'workload')
        throw new Error(`event ${lastHandled} was reported handled but is not in the snapshot`);
      expect(last.workload.containers[0]?.image.digest).toBe(
        `sha256:${lastHandled.toString(16).padStart(64, '0')}`,
      );
    }

    // The console's live workloads and their current images equal the snapshot exactly.
    const [cluster] = await fetchClusters(server.address, { token: TOKEN, plaintext: true });
    expect(cluster?.workloads).toBe(snapshot.size);
    const records = await fetchRecords(server.address, { token: TOKEN, plaintext: true });
    const current = new Map<string, string>();
    for (const r of records)
      for (const w of r.workloads) if (w.current && !w.deleted) current.set(w.uid, r.image.digest);
    const expected = new Map<string, string>();
    for (const [key, o] of snapshot) {
      if (o.kind !== 'workload') throw new Error('unexpected object kind');
      expected.set(key, o.workload.containers[0]?.image.digest ?? '');
    }
    expect(current).toEqual(expected);
  });
});
