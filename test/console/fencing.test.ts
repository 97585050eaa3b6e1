import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConsoleSink } from '../../src/console/sink.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { fetchClusters, fetchRecords } from '../../src/console/views.js';
import type { WireLeaderEpoch } from '../../src/console/wire-types.js';
import type { ClusterObject } from '../../src/model/index.js';
import {
  clientRig,
  consoleConfig,
  makeCluster,
  makeWorkload,
  metricValue,
  tempDir,
  until,
  writeToken,
} from './helpers.js';

const TOKEN = 'test-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const view = { token: TOKEN, plaintext: true };
const cluster = makeCluster(1);
const wl = (n: number, image = n): ClusterObject => ({
  kind: 'workload',
  workload: makeWorkload(cluster, n, image),
});

async function startConsole(): Promise<{ console_: ReferenceConsole; dbFile: string }> {
  const t = tempDir('sl-fence-console-');
  const dbFile = join(t.dir, 'console.db');
  const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile, token: TOKEN });
  cleanups.push(async () => {
    await console_.stop();
    t.cleanup();
  });
  return { console_, dbFile };
}

/** One agent replica: its own state directory, a client that pushes with `epoch`. */
function replica(address: string, epoch: WireLeaderEpoch | undefined) {
  const t = tempDir();
  const fenced: string[] = [];
  const rig = clientRig(join(t.dir, 'state'), consoleConfig(address, writeToken(t.dir, TOKEN)), {
    ...(epoch ? { epoch, onFenced: (d: string) => fenced.push(d) } : {}),
  });
  const sink = new ConsoleSink(rig.db, { logger: rig.log.logger });
  cleanups.push(async () => {
    await rig.client.stop(500);
    rig.db.close();
    t.cleanup();
  });
  let seq = 0;
  const add = (o: ClusterObject): void => {
    seq += 1;
    sink.handle({
      type: 'ADDED',
      sourceId: 'ecs:test',
      key: `k-${seq}-${JSON.stringify(o).length}`,
      object: o,
    });
  };
  return { ...rig, sink, fenced, add };
}

describe('fencing: the console refuses a replaced leader, the client steps down', () => {
  it('accepts the newer epoch, refuses the older one with FAILED_PRECONDITION; the old client stops and keeps its rows', async () => {
    const { console_, dbFile } = await startConsole();
    const a = replica(console_.address, { term: 0, holder: 'pod-a_1' });
    const b = replica(console_.address, { term: 1, holder: 'pod-b_2' });
    a.sink.handle({ type: 'ADDED', sourceId: 'ecs:test', key: 'c', object: { kind: 'cluster', cluster } });
    a.add(wl(1));
    a.client.start();
    await until(() => a.db.outbox.count === 0, 10_000, 'a drained');
    // b takes over and pushes; from now on a's writes must be refused.
    b.sink.handle({ type: 'ADDED', sourceId: 'ecs:test', key: 'c', object: { kind: 'cluster', cluster } });
    b.add(wl(2));
    b.client.start();
    await until(() => b.db.outbox.count === 0, 10_000, 'b drained');
    // The paused old leader wakes up with a change queued.
    a.add(wl(3));
    await until(() => a.fenced.length > 0, 10_000, 'a fenced');
    expect(a.fenced[0]).toMatch(/FAILED_PRECONDITION.*led by epoch 1\/pod-b_2.*0\/pod-a_1/);
    // Not set aside, not deleted: the row stays in a's outbox, and a sends nothing more.
    expect(a.db.outbox.count).toBe(1);
    expect(a.db.outbox.rejectedCount).toBe(0);
    expect(a.client.health()).toMatchObject({ ok: false, reason: expect.stringMatching(/not the leader/) });
    expect(
      await metricValue(a.metrics, 'sightline_console_push_total', { outcome: 'failed_precondition' }),
    ).toBe(1);
    a.add(wl(4));
    b.add(wl(5));
    await until(() => b.db.outbox.count === 0, 10_000, 'b drained again');
    const names = (await fetchRecords(console_.address, view)).flatMap((r) => r.workloads.map((w) => w.name));
    expect(names.sort()).toEqual(['task-1', 'task-2', 'task-5']);
    // The console knows who leads, and which epoch every accepted write had, in order.
    const [c] = await fetchClusters(console_.address, view);
    expect(c?.leader).toEqual({ term: 1, holder: 'pod-b_2' });
    const log = new Database(dbFile, { readonly: true });
    const holders = log.prepare('SELECT holder FROM fenced_writes WHERE refused = 0 ORDER BY seq').all() as {
      holder: string;
    }[];
    const refused = log.prepare('SELECT holder, rpc FROM fenced_writes WHERE refused = 1').all();
    log.close();
    expect(refused).toEqual([{ holder: 'pod-a_1', rpc: 'ReportSightings' }]);
    const firstB = holders.findIndex((h) => h.holder === 'pod-b_2');
    expect(firstB).toBeGreaterThan(0);
    expect(holders.slice(firstB).every((h) => h.holder === 'pod-b_2')).toBe(true);
  });

  it('accepts writes without an epoch as before (leader election off), and does not fence on them', async () => {
    const { console_ } = await startConsole();
    const single = replica(console_.address, undefined);
    single.sink.handle({
      type: 'ADDED',
      sourceId: 'ecs:test',
      key: 'c',
      object: { kind: 'cluster', cluster },
    });
    single.add(wl(1));
    single.client.start();
    await until(() => single.db.outbox.count === 0, 10_000, 'drained');
    const [c] = await fetchClusters(console_.address, view);
    expect(c?.leader ?? null).toBeNull();
    // A later elected replica is accepted at any term.
    const a = replica(console_.address, { term: 0, holder: 'pod-a_1' });
    a.add(wl(2));
    a.client.start();
    await until(() => a.db.outbox.count === 0, 10_000, 'a drained');
    expect(a.fenced).toEqual([]);
  });

  it('refuses the same term from another holder (two writers can never share an epoch)', async () => {
    const { console_ } = await startConsole();
    const a = replica(console_.address, { term: 3, holder: 'pod-a_1' });
    a.add(wl(1));
    a.client.start();
    await until(() => a.db.outbox.count === 0, 10_000, 'a drained');
    const b = replica(console_.address, { term: 3, holder: 'pod-b_2' });
    b.add(wl(2));
    b.client.start();
    await until(() => b.fenced.length > 0, 10_000, 'b fenced');
    expect(b.db.outbox.count).toBe(1);
  });
});
