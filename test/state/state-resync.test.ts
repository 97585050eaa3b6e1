/**
 * Loss of state → full-state resync per cluster (issue 13): a state database rebuilt after
 * corruption loses its pending outbox, deletions included. The rebuilt database owes the console a
 * ResyncCluster per cluster, sent after the first full list; the reference console then drops what
 * the full state no longer holds, so it shows exactly the current state. A console from before
 * ResyncCluster keeps working.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { ConsoleStore } from '../../src/console/server/store.js';
import { fetchClusters, fetchRecords } from '../../src/console/views.js';
import { ConsoleSink, RESYNC_PART_MAX_IDS } from '../../src/console/sink.js';
import { openStateDatabase, STATE_DB_FILE, StateRefusedError } from '../../src/state/database.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { WorkloadSighting } from '../../src/console/wire-types.js';
import { toRegistration } from '../../src/console/wire-mapping.js';
import {
  added,
  captureLogger,
  clientRig,
  consoleConfig,
  deleted,
  handleBurst,
  makeCluster,
  makeWorkload,
  metricValue,
  tempDir,
  until,
  writeToken,
} from '../console/helpers.js';

const TOKEN = 'resync-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const cluster = makeCluster(1);
const clusterObj: ClusterObject = { kind: 'cluster', cluster };
const workload = (n: number, image = n): ClusterObject => ({
  kind: 'workload',
  workload: makeWorkload(cluster, n, image),
});

async function startConsole(resync = true): Promise<ReferenceConsole> {
  const server = await startReferenceConsole({
    listen: '127.0.0.1:0',
    dbFile: ':memory:',
    token: TOKEN,
    resync,
  });
  cleanups.push(() => server.stop());
  return server;
}

/** Current (workload uid → image digests) pairs in the console's records view. */
async function currentPairs(address: string): Promise<string[]> {
  const records = await fetchRecords(address, { token: TOKEN, plaintext: true });
  const out: string[] = [];
  for (const r of records)
    for (const w of r.workloads) if (w.current) out.push(`${w.uid}@${r.image.digest.slice(-4)}`);
  return out.sort();
}

/** First life: 6 workloads reach the console; then, with the console unreachable, 2 are deleted and 1 changes image, and the disk corrupts the file. */
async function firstLifeThenCorruption(
  dir: string,
  server: ReferenceConsole,
  tokenFile: string,
): Promise<void> {
  const rig = clientRig(dir, consoleConfig(server.address, tokenFile));
  expect(rig.db.openStatus.state).toBe('created');
  const sink = new ConsoleSink(rig.db, { logger: rig.log.logger });
  handleBurst(rig.db, sink, [
    added('clusters', clusterObj),
    ...[1, 2, 3, 4, 5, 6].map((n) => added('tasks', workload(n))),
  ]);
  // A brand-new database owes a resync too (a new volume may face a console with old data).
  expect(sink.resync()?.clusters).toBe(1);
  rig.client.start();
  await until(() => rig.db.outbox.count === 0, 30_000, 'first life sent');
  await rig.client.stop(100);
  expect(await currentPairs(server.address)).toHaveLength(6);
  // The console is down now (client stopped): these changes stay in the outbox ...
  sink.handle(deleted('tasks', workload(5)));
  sink.handle(deleted('tasks', workload(6)));
  sink.handle(added('tasks', workload(4, 40), 'MODIFIED'));
  expect(rig.db.outbox.count).toBe(3);
  rig.db.close();
  // ... and are lost with the file.
  writeFileSync(join(dir, STATE_DB_FILE), Buffer.alloc(8192, 0x5a));
}

describe('full-state resync after loss of state', () => {
  it('drops what the lost outbox would have deleted: the console shows exactly the current state', async () => {
    const t = tempDir('sl-resync-');
    cleanups.push(t.cleanup);
    const server = await startConsole();
    const tokenFile = writeToken(t.dir, TOKEN);
    const dir = join(t.dir, 'state');
    await firstLifeThenCorruption(dir, server, tokenFile);

    const rig = clientRig(dir, consoleConfig(server.address, tokenFile));
    cleanups.push(() => rig.db.close());
    expect(rig.db.openStatus.state).toBe('recovered');
    expect(rig.db.resyncPending).toBeGreaterThan(0);
    const sink = new ConsoleSink(rig.db, { logger: rig.log.logger });
    // The relist of the rebuilt state: the current full list (4 workloads, one with a new image).
    handleBurst(rig.db, sink, [
      added('clusters', clusterObj),
      ...[1, 2, 3].map((n) => added('tasks', workload(n))),
      added('tasks', workload(4, 40)),
    ]);
    rig.client.start();
    cleanups.push(() => rig.client.stop(100));
    // Without the resync the console would keep task-5, task-6 and task-4's old image as current.
    await until(() => rig.db.outbox.count === 0, 30_000, 'relist sent');
    expect(await currentPairs(server.address)).toContain('task-5@0005');

    const r = sink.resync();
    expect(r).toMatchObject({ clusters: 1, objects: 4 });
    expect(rig.db.resyncPending).toBeUndefined();
    expect(sink.resync()).toBeUndefined(); // owed once
    await until(() => rig.db.outbox.count === 0, 30_000, 'resync sent');
    expect(await currentPairs(server.address)).toEqual([
      'task-1@0001',
      'task-2@0002',
      'task-3@0003',
      'task-4@0028',
    ]);
    const [view] = await fetchClusters(server.address, { token: TOKEN, plaintext: true });
    expect(view?.workloads).toBe(4);
    const records = await fetchRecords(server.address, { token: TOKEN, plaintext: true });
    const gone = records.flatMap((rec) => rec.workloads).filter((w) => w.uid === 'task-5');
    expect(gone).toEqual([expect.objectContaining({ deleted: true, current: false })]);
  });

  it('a database opened with its state owes no resync; requestResync (a new leader) makes one owed', () => {
    const t = tempDir('sl-resync-');
    cleanups.push(t.cleanup);
    const log = captureLogger();
    const first = openStateDatabase(t.dir, { logger: log.logger, nowMs: () => 1_000 });
    expect(first.resyncPending).toBe(1_000);
    new ConsoleSink(first, { logger: log.logger }).resync();
    first.close();
    const again = openStateDatabase(t.dir, { logger: log.logger });
    cleanups.push(() => again.close());
    expect(again.openStatus.state).toBe('opened');
    expect(again.resyncPending).toBeUndefined();
    again.requestResync(2_000);
    const sink = new ConsoleSink(again, { logger: log.logger });
    sink.handle(added('tasks', workload(1)));
    expect(sink.resync()).toMatchObject({ generation: 2_000, clusters: 1, objects: 1 });
    const rows = again.outbox.peek(10).filter((row) => row.rpc === 'resync');
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]?.payload ?? '{}')).toEqual({
      cluster_id: cluster.id,
      generation: 2_000,
      part: 0,
      parts: 1,
      live: [{ type: 'WORKLOAD', id: 'task-1' }],
    });
  });

  it('uses a 0-byte database as new, says so, and owes a resync', () => {
    const t = tempDir('sl-resync-');
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, STATE_DB_FILE), '');
    const log = captureLogger();
    const db = openStateDatabase(t.dir, { logger: log.logger, nowMs: () => 7_000 });
    cleanups.push(() => db.close());
    expect(db.openStatus).toEqual({ state: 'created', empty: true });
    expect(db.resyncPending).toBe(7_000);
    expect(log.text()).toContain('state database file is empty (0 bytes): treating it as a new database');
  });

  it('refuses a database from a newer schema and leaves it where it is, outbox and all', () => {
    const t = tempDir('sl-resync-');
    cleanups.push(t.cleanup);
    const file = join(t.dir, STATE_DB_FILE);
    const newer = new Database(file);
    newer.exec(
      "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, payload TEXT); INSERT INTO outbox VALUES (1, 'v9');",
    );
    newer.pragma('user_version = 99');
    newer.close();
    const log = captureLogger();
    expect(() => openStateDatabase(t.dir, { logger: log.logger })).toThrow(StateRefusedError);
    expect(() => openStateDatabase(t.dir, { logger: log.logger })).toThrow(
      /written by a newer sightline: state database schema version 99 is newer than this sightline understands \(\d+\)/,
    );
    expect(readdirSync(t.dir).filter((f) => f.includes('corrupt'))).toEqual([]);
    const kept = new Database(file, { readonly: true });
    expect(kept.prepare('SELECT payload FROM outbox').pluck().all()).toEqual(['v9']);
    kept.close();
  });

  it('splits a large cluster into parts; the console applies the resync only with every part, and ignores an older generation', () => {
    const log = captureLogger();
    const t = tempDir('sl-resync-');
    cleanups.push(t.cleanup);
    const db = openStateDatabase(t.dir, { logger: log.logger, nowMs: () => 5_000 });
    cleanups.push(() => db.close());
    const sink = new ConsoleSink(db, { logger: log.logger });
    const n = RESYNC_PART_MAX_IDS + 10;
    handleBurst(
      db,
      sink,
      Array.from({ length: n }, (_, i) => added('tasks', workload(i + 1))),
    );
    expect(sink.resync()).toMatchObject({ clusters: 1, objects: n });
    const parts = db.outbox.peek(n + 10).filter((r) => r.rpc === 'resync');
    expect(parts).toHaveLength(2);

    let now = 10_000;
    const store = new ConsoleStore(':memory:', () => now);
    cleanups.push(() => store.close());
    const sighting = (i: number): WorkloadSighting => ({
      cluster_id: cluster.id,
      uid: `task-${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      native_kind: 'ecs.amazonaws.com/Task',
      namespace: 'default',
      name: `task-${i}`,
      owners: [],
      labels: {},
      containers: [],
      node_id: '',
      status: '',
      first_seen_ms: 1,
      last_seen_ms: 1,
    });
    // The console also holds one workload the agent no longer has.
    for (let i = 1; i <= n + 1; i++) store.workload(sighting(i));
    store.register(toRegistration(cluster, 1));
    const live = (): number => store.listClusters('PROVIDER_UNSPECIFIED')[0]?.workloads ?? -1;
    const [p0, p1] = parts.map((r) => ({ batch_id: `b${r.seq}`, ...(JSON.parse(r.payload) as object) }));
    expect(store.resync(p0 as Parameters<ConsoleStore['resync']>[0])).toBe(false);
    expect(live()).toBe(n + 1);
    now = 11_000;
    expect(store.resync(p1 as Parameters<ConsoleStore['resync']>[0])).toBe(true);
    expect(live()).toBe(n);
    // A late part of an older generation changes nothing.
    store.workload(sighting(n + 1));
    const old = {
      ...(p1 as Parameters<ConsoleStore['resync']>[0]),
      generation: 4_000,
      part: 0,
      parts: 1,
      live: [],
    };
    expect(store.resync(old)).toBe(false);
    expect(live()).toBe(n + 1);
  });

  it('keeps working with a console that does not implement ResyncCluster: one warning, the row is done', async () => {
    const t = tempDir('sl-resync-');
    cleanups.push(t.cleanup);
    const server = await startConsole(false);
    const tokenFile = writeToken(t.dir, TOKEN);
    const rig = clientRig(join(t.dir, 'state'), consoleConfig(server.address, tokenFile));
    cleanups.push(() => rig.db.close());
    const sink = new ConsoleSink(rig.db, { logger: rig.log.logger });
    handleBurst(rig.db, sink, [added('clusters', clusterObj), added('tasks', workload(1))]);
    sink.resync();
    sink.handle(added('tasks', workload(2)));
    rig.client.start();
    cleanups.push(() => rig.client.stop(100));
    await until(() => rig.db.outbox.count === 0, 30_000, 'outbox drained');
    expect(await currentPairs(server.address)).toEqual(['task-1@0001', 'task-2@0002']);
    expect(rig.db.outbox.rejectedCount).toBe(0);
    expect(
      await metricValue(rig.metrics, 'sightline_console_push_total', {
        rpc: 'ResyncCluster',
        outcome: 'unimplemented',
      }),
    ).toBe(1);
    expect(rig.log.text().match(/does not implement ResyncCluster/g)).toHaveLength(1);
  });
});
