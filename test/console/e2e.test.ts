import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConsoleSink } from '../../src/console/sink.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { fetchClusters, fetchRecords } from '../../src/console/views.js';
import { clustersListCommand, recordsListCommand } from '../../src/console/commands.js';
import type { ClusterObject } from '../../src/model/index.js';
import {
  clientRig,
  consoleConfig,
  digestOf,
  makeCluster,
  makeWorkload,
  metricValue,
  tempDir,
  until,
  writeToken,
} from './helpers.js';
import type { ClientRig } from './helpers.js';

const TOKEN = 'test-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function consoleOn(
  listen = '127.0.0.1:0',
  dbFile = ':memory:',
  token = TOKEN,
): Promise<ReferenceConsole> {
  const c = await startReferenceConsole({ listen, dbFile, token });
  cleanups.push(() => c.stop());
  return c;
}

function rigFor(address: string, opts: { token?: string; batchMaxItems?: number } = {}) {
  const t = tempDir();
  const tokenFile = writeToken(t.dir, opts.token ?? TOKEN);
  const rig = clientRig(
    join(t.dir, 'state'),
    consoleConfig(address, tokenFile, { batchMaxItems: opts.batchMaxItems ?? 50 }),
  );
  const sink = new ConsoleSink(rig.db, { logger: rig.log.logger });
  cleanups.push(async () => {
    await rig.client.stop(1_000);
    rig.db.close();
    t.cleanup();
  });
  return { ...rig, sink, tokenFile, dir: t.dir };
}

const view = { token: TOKEN, plaintext: true };
const wl = (o: ReturnType<typeof makeWorkload>): ClusterObject => ({ kind: 'workload', workload: o });

async function drained(rig: ClientRig): Promise<void> {
  await until(
    () => rig.db.outbox.count === 0 && rig.db.activity.pendingCount() === 0,
    10_000,
    'outbox drained',
  );
}

describe('console client ↔ reference console over loopback gRPC', () => {
  it('delivers registrations, sightings, deletes and heartbeats; the views match', async () => {
    const server = await consoleOn();
    const rig = rigFor(server.address);
    rig.client.start();
    const c1 = makeCluster(1);
    const c2 = makeCluster(2, { name: 'cluster-2', region: 'eu-west-1' });
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c1',
      object: { kind: 'cluster', cluster: c1 },
    });
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c2',
      object: { kind: 'cluster', cluster: c2 },
    });
    for (let i = 0; i < 5; i++) {
      rig.sink.handle({
        type: 'ADDED',
        sourceId: 'tasks',
        key: `w${i}`,
        object: wl(makeWorkload(c1, i, i % 2)),
      });
    }
    rig.sink.handle({
      type: 'DELETED',
      sourceId: 'tasks',
      key: 'w4',
      object: wl(makeWorkload(c1, 4, 0)),
      tombstone: false,
    });
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'ns',
      key: 'default',
      object: {
        kind: 'namespace',
        namespace: { clusterId: c1.id, name: 'default', labels: {}, enforcement: false },
      },
    });
    const now = Date.now();
    rig.sink.activity({
      clusterId: c1.id,
      controllerName: 'sightline-ecs-tasks',
      profile: 'observer',
      lastSeenMs: now,
    });
    await drained(rig);

    const clusters = await fetchClusters(server.address, view);
    expect(clusters.map((c) => c.registration.name)).toEqual(['cluster-1', 'cluster-2']);
    const one = clusters[0];
    expect(one?.registration).toMatchObject({
      id: c1.id,
      provider: 'ECS',
      agent_version: '0.1.0',
      region: 'us-east-1',
    });
    expect(one?.workloads).toBe(4);
    expect(one?.activity.map((a) => [a.controller_name, a.profile, a.last_seen_ms])).toEqual([
      ['sightline-ecs-tasks', 'observer', now],
    ]);
    expect(one?.last_seen_ms).toBeGreaterThanOrEqual(now);

    const records = await fetchRecords(server.address, view);
    expect(records.map((r) => r.image.digest).sort()).toEqual([digestOf(0), digestOf(1)]);
    const r0 = records.find((r) => r.image.digest === digestOf(0));
    expect(r0?.cluster_id).toBe(c1.id);
    expect(r0?.workloads.map((w) => [w.name, w.deleted]).sort()).toEqual([
      ['task-0', false],
      ['task-2', false],
      ['task-4', true],
    ]);
    expect(r0?.workloads[0]?.kind).toEqual({ group: '', version: 'v1', kind: 'Pod' });

    // The CLI command bodies print the same views.
    const out = collect();
    expect(
      await clustersListCommand({
        console: server.address,
        token: TOKEN,
        plaintext: true,
        output: 'table',
        stdout: out.stream,
      }),
    ).toBe(0);
    const lines = out.text().trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PROVIDER\s+REGION\s+AGENT VERSION\s+LAST SEEN\s+ACTIVITY$/);
    expect(lines[1]).toMatch(/^cluster-1\s+ECS\s+us-east-1\s+0\.1\.0\s+\d+s\s+observer:\d+s$/);
    const json = collect();
    expect(
      await recordsListCommand({
        console: server.address,
        tokenFile: rig.tokenFile,
        plaintext: true,
        output: 'json',
        stdout: json.stream,
      }),
    ).toBe(0);
    const parsed = JSON.parse(json.text()) as { image: { digest: string }; contexts: unknown[] }[];
    expect(parsed).toHaveLength(2);
    expect(
      await metricValue(rig.metrics, 'sightline_console_push_total', { rpc: 'Heartbeat', outcome: 'ok' }),
    ).toBe(1);
    expect(rig.client.health()).toMatchObject({ ok: true, pending: 0 });
  });

  it('deregisters a cluster and forgets its data', async () => {
    const server = await consoleOn();
    const rig = rigFor(server.address);
    rig.client.start();
    const c1 = makeCluster(1);
    const c2 = makeCluster(2, { account: '210987654321' });
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c1',
      object: { kind: 'cluster', cluster: c1 },
    });
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c2',
      object: { kind: 'cluster', cluster: c2 },
    });
    rig.sink.handle({ type: 'ADDED', sourceId: 'tasks', key: 'w1', object: wl(makeWorkload(c1, 1)) });
    await drained(rig);
    expect(await fetchRecords(server.address, view)).toHaveLength(1);
    rig.sink.handle({
      type: 'DELETED',
      sourceId: 'clusters',
      key: 'c1',
      object: { kind: 'cluster', cluster: c1 },
      tombstone: false,
    });
    await drained(rig);
    expect((await fetchClusters(server.address, view)).map((c) => c.registration.name)).toEqual([
      'cluster-2',
    ]);
    expect(await fetchRecords(server.address, view)).toHaveLength(0);
    rig.sink.deregisterAccount('210987654321');
    await drained(rig);
    expect(await fetchClusters(server.address, view)).toHaveLength(0);
  });
});

function collect(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}
