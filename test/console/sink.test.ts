import { afterEach, describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { openStateDatabase } from '../../src/state/database.js';
import { ConsoleSink } from '../../src/console/sink.js';
import type {
  ClusterRegistration,
  DeregisterClustersRequest,
  Sighting,
} from '../../src/console/wire-types.js';
import { objectHash, toContainerImage } from '../../src/model/index.js';
import { captureLogger, digestOf, handleBurst, makeCluster, makeWorkload, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup() {
  const t = tempDir();
  const log = captureLogger();
  const db = openStateDatabase(t.dir, { logger: log.logger });
  cleanups.push(() => {
    db.close();
    t.cleanup();
  });
  const scheduler = new VirtualTimeScheduler();
  const sink = new ConsoleSink(db, { logger: log.logger, scheduler });
  const advanceTo = (ms: number) => {
    scheduler.frame = ms;
  };
  const rows = () => db.outbox.peek(1000);
  return { db, sink, advanceTo, rows };
}

describe('ConsoleSink', () => {
  it('turns cluster ADDED into a registration and DELETED into a deregistration', () => {
    const { sink, rows, advanceTo } = setup();
    const c = makeCluster(1);
    advanceTo(5_000);
    sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: c.remoteId,
      object: { kind: 'cluster', cluster: c },
    });
    sink.handle({
      type: 'DELETED',
      sourceId: 'clusters',
      key: c.remoteId,
      object: { kind: 'cluster', cluster: c },
      tombstone: true,
    });
    const [reg, dereg] = rows();
    expect(reg?.rpc).toBe('register');
    const r = JSON.parse(reg?.payload ?? '{}') as ClusterRegistration;
    expect(r).toMatchObject({
      id: c.id,
      provider: 'ECS',
      remote_id: c.remoteId,
      name: 'cluster-1',
      region: 'us-east-1',
      account: '123456789012',
      issuer: 'https://issuer.example',
      platform_version: '1.4.0',
      agent_version: '0.1.0',
      group: 'group-1',
      profiles: ['observer'],
      labels: { team: 'a' },
      observed_ms: 5_000,
    });
    expect(dereg?.rpc).toBe('deregister');
    expect(JSON.parse(dereg?.payload ?? '{}') as DeregisterClustersRequest).toEqual({
      cluster_ids: [c.id],
      account: '',
    });
  });

  it('tracks first/last seen per workload and per image', () => {
    const { sink, rows, advanceTo } = setup();
    const c = makeCluster(1);
    const w = makeWorkload(c, 1, 1);
    advanceTo(1_000);
    sink.handle({ type: 'ADDED', sourceId: 's', key: 'w', object: { kind: 'workload', workload: w } });
    advanceTo(2_000);
    const w2 = {
      ...w,
      containers: [
        ...w.containers,
        { name: 'sidecar', image: toContainerImage('registry.example/team/side:1', digestOf(99)) },
      ],
    };
    sink.handle({ type: 'MODIFIED', sourceId: 's', key: 'w', object: { kind: 'workload', workload: w2 } });
    const sightings = rows().map((r) => JSON.parse(r.payload) as Sighting);
    const second = sightings[1];
    if (second === undefined || !('workload' in second)) throw new Error('expected a workload sighting');
    expect(second.workload.first_seen_ms).toBe(1_000);
    expect(second.workload.last_seen_ms).toBe(2_000);
    expect(second.workload.kind).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(
      second.workload.containers.map((x) => [x.name, x.image.digest, x.first_seen_ms, x.last_seen_ms]),
    ).toEqual([
      ['app', digestOf(1), 1_000, 2_000],
      ['sidecar', digestOf(99), 2_000, 2_000],
    ]);
  });

  it('appends nothing for an unchanged object but still moves the cursor', () => {
    const { db, sink, rows } = setup();
    const c = makeCluster(1);
    const w = makeWorkload(c, 1);
    sink.handle({
      type: 'ADDED',
      sourceId: 's',
      key: 'w',
      object: { kind: 'workload', workload: w },
      cursor: 'c1',
    });
    sink.handle({
      type: 'MODIFIED',
      sourceId: 's',
      key: 'w',
      object: { kind: 'workload', workload: { ...w } },
      cursor: 'c2',
    });
    expect(rows()).toHaveLength(1);
    expect(db.loadCheckpoint('s')?.cursor).toBe('c2');
    sink.handle({ type: 'RELIST', sourceId: 's', cause: 'periodic', phase: 'done', cursor: 'c3' });
    expect(db.loadCheckpoint('s')?.cursor).toBe('c3');
    expect(rows()).toHaveLength(1);
  });

  it("keeps the engine's hash and order in the snapshot (no rehash) and restores them", () => {
    const { db, sink, rows } = setup();
    const c = makeCluster(1);
    const w = (n: number) => ({ kind: 'workload' as const, workload: makeWorkload(c, 1, n) });
    sink.handle({ type: 'ADDED', sourceId: 's', key: 'w1', object: w(1), hash: 'engine-hash-1', order: 7 });
    expect(db.loadCheckpoint('s')?.objects).toEqual([
      { key: 'w1', hash: 'engine-hash-1', order: 7, object: w(1) },
    ]);
    // The engine's hash is what counts: the same hash is "unchanged", whatever the object says.
    sink.handle({
      type: 'MODIFIED',
      sourceId: 's',
      key: 'w1',
      object: w(2),
      hash: 'engine-hash-1',
      order: 8,
    });
    expect(rows()).toHaveLength(1);
    sink.handle({
      type: 'MODIFIED',
      sourceId: 's',
      key: 'w1',
      object: w(2),
      hash: 'engine-hash-2',
      order: 8,
    });
    expect(rows()).toHaveLength(2);
    expect(db.loadCheckpoint('s')?.objects).toEqual([
      { key: 'w1', hash: 'engine-hash-2', order: 8, object: w(2) },
    ]);
    // An event without them (not from the engine) is hashed here; no order is kept.
    sink.handle({ type: 'MODIFIED', sourceId: 's', key: 'w1', object: w(3) });
    expect(db.loadCheckpoint('s')?.objects).toEqual([{ key: 'w1', hash: objectHash(w(3)), object: w(3) }]);
  });

  it('maps namespace and node upserts and deletes to sightings', () => {
    const { sink, rows } = setup();
    const c = makeCluster(1);
    const ns = {
      clusterId: c.id,
      name: 'prod',
      labels: { 'policy.sigstore.dev/include': 'true' },
      enforcement: true,
    };
    const node = { clusterId: c.id, id: 'arn:ci/1', name: 'ci-1', metadata: { az: 'a' } };
    sink.handle({ type: 'ADDED', sourceId: 'n', key: 'prod', object: { kind: 'namespace', namespace: ns } });
    sink.handle({ type: 'ADDED', sourceId: 'n', key: 'ci', object: { kind: 'node', node } });
    sink.handle({
      type: 'DELETED',
      sourceId: 'n',
      key: 'prod',
      object: { kind: 'namespace', namespace: ns },
      tombstone: true,
    });
    sink.handle({
      type: 'DELETED',
      sourceId: 'n',
      key: 'ci',
      object: { kind: 'node', node },
      tombstone: false,
    });
    const s = rows().map((r) => JSON.parse(r.payload) as Sighting);
    expect(s[0]).toMatchObject({ namespace: { cluster_id: c.id, name: 'prod', enforcement: true } });
    expect(s[1]).toMatchObject({ node: { cluster_id: c.id, id: 'arn:ci/1', metadata: { az: 'a' } } });
    expect(s[2]).toMatchObject({ deletion: { type: 'NAMESPACE', id: 'prod', tombstone: true } });
    expect(s[3]).toMatchObject({ deletion: { type: 'NODE', id: 'arn:ci/1', tombstone: false } });
  });

  it('coalesces heartbeats per (cluster, controller) to the latest time', () => {
    const { db, sink } = setup();
    for (let i = 0; i < 100; i++) {
      sink.activity({ clusterId: 'c1', controllerName: 'tasks', profile: 'observer', lastSeenMs: 1_000 + i });
      sink.activity({ clusterId: 'c2', controllerName: 'tasks', profile: 'observer', lastSeenMs: 2_000 - i });
    }
    const pending = db.activity.pending(100);
    expect(pending.map((p) => [p.clusterId, p.lastSeenMs])).toEqual([
      ['c1', 1_099],
      ['c2', 2_000],
    ]);
    expect(db.outbox.count).toBe(0);
    db.activity.markSent(pending);
    expect(db.activity.pendingCount()).toBe(0);
    sink.activity({ clusterId: 'c1', controllerName: 'tasks', profile: 'observer', lastSeenMs: 1_050 });
    expect(db.activity.pendingCount()).toBe(0);
  });

  it('queues an account-wide deregistration', () => {
    const { sink, rows } = setup();
    sink.deregisterAccount('123456789012');
    expect(rows().map((r) => [r.rpc, JSON.parse(r.payload) as unknown])).toEqual([
      ['deregister', { cluster_ids: [], account: '123456789012' }],
    ]);
  });
});

describe('ConsoleSink.handle in one state database transaction', () => {
  it('applies a burst in order in one transaction, all or nothing', () => {
    const { db, sink, rows } = setup();
    const c = makeCluster(1);
    const w = makeWorkload(c, 1);
    handleBurst(db, sink, [
      { type: 'ADDED', sourceId: 's', key: 'w', object: { kind: 'workload', workload: w } },
      {
        type: 'DELETED',
        sourceId: 's',
        key: 'w',
        object: { kind: 'workload', workload: w },
        tombstone: false,
      },
      {
        type: 'ADDED',
        sourceId: 's',
        key: 'w2',
        object: { kind: 'workload', workload: makeWorkload(c, 2) },
        cursor: 'c9',
      },
    ]);
    expect(rows().map((r) => Object.keys(JSON.parse(r.payload) as object)[0])).toEqual([
      'workload',
      'deletion',
      'workload',
    ]);
    expect([...(db.loadCheckpoint('s')?.objects ?? [])].map((o) => o.key)).toEqual(['w2']);
    expect(db.loadCheckpoint('s')?.cursor).toBe('c9');
    db.close();
    expect(() => handleBurst(db, sink, [{ type: 'BOOKMARK', sourceId: 's', cursor: 'c10' }])).toThrow();
  });
});
