import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_TIMINGS } from '../../src/leader/elector.js';
import { ElectionWorld, LEASE, NAMESPACE } from './harness.js';

const T = DEFAULT_ELECTION_TIMINGS;
let world: ElectionWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function twoReplicas(): Promise<ElectionWorld> {
  const w = await ElectionWorld.start();
  const a = w.replica('pod-a_1111', T);
  a.elector.start();
  await w.until('a leads', () => a.elector.isLeader, 1_000);
  const b = w.replica('pod-b_2222', T);
  b.elector.start();
  await w.advance(3_000);
  return w;
}

describe('leader election on a Lease (real client-node client, fake API server, virtual time)', () => {
  it('creates the Lease, leads at term 0 and renews every retry period with its resourceVersion', async () => {
    world = await ElectionWorld.start();
    const a = world.replica('pod-a_1111', T);
    a.elector.start();
    await world.until('a leads', () => a.elector.isLeader, 1_000);
    expect(a.events).toEqual([{ at: 0, type: 'started', epoch: { term: 0, holder: 'pod-a_1111' } }]);
    const lease = world.api.lease(NAMESPACE, LEASE);
    expect(lease?.spec).toMatchObject({
      holderIdentity: 'pod-a_1111',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
    const writes = world.api.writes.length;
    await world.advance(20_000);
    // One renewal per retry period (2 s), each a PUT on top of the previous resourceVersion.
    const renewals = world.api.writes.slice(writes);
    expect(renewals.length).toBe(10);
    expect(renewals.every((w) => w.method === 'PUT' && w.status === 200 && w.holder === 'pod-a_1111')).toBe(
      true,
    );
    expect(a.elector.status()).toMatchObject({ role: 'leader', holder: 'pod-a_1111', epoch: { term: 0 } });
  });

  it('keeps a second replica on standby while the leader renews: one leader at any time', async () => {
    world = await twoReplicas();
    const [a, b] = world.replicas;
    for (let i = 0; i < 60; i++) {
      await world.advance(1_000);
      expect(world.leaders()).toEqual(['pod-a_1111']);
    }
    expect(b?.events).toEqual([]);
    expect(b?.elector.status()).toMatchObject({ role: 'standby', holder: 'pod-a_1111' });
    expect(a?.events.filter((e) => e.type === 'stopped')).toEqual([]);
  });

  it('takes over from a dead leader within leaseDuration + retryPeriod of its last renewal, with a new term', async () => {
    world = await twoReplicas();
    const [a, b] = world.replicas;
    if (!a || !b) throw new Error('replicas');
    // kill -9: the leader's process makes no call any more (its calls hang forever).
    a.lock.setHanging(true);
    const lastRenewal = world.api.writes.filter((w) => w.holder === 'pod-a_1111' && w.status === 200).length;
    const killedAt = world.now();
    const took = await world.until('b leads', () => b.elector.isLeader, 30_000);
    expect(world.api.writes.filter((w) => w.holder === 'pod-a_1111' && w.status === 200).length).toBe(
      lastRenewal,
    );
    expect(took).toBeLessThanOrEqual(T.leaseDurationMs + T.retryPeriodMs);
    expect(took).toBeGreaterThanOrEqual(T.leaseDurationMs - T.retryPeriodMs * 1.2);
    expect(b.events[0]).toMatchObject({ type: 'started', epoch: { term: 1, holder: 'pod-b_2222' } });
    expect(world.api.lease(NAMESPACE, LEASE)?.spec).toMatchObject({
      holderIdentity: 'pod-b_2222',
      leaseTransitions: 1,
    });
    // The dead leader, had it been running, would have given up before b took over.
    const aStopped = a.events.find((e) => e.type === 'stopped');
    expect(aStopped).toMatchObject({ reason: 'lost' });
    expect(aStopped?.at).toBeLessThan(killedAt + took);
  });

  it('a partitioned leader stops leading within renewDeadline, before anyone else can take the lease', async () => {
    world = await twoReplicas();
    const [a, b] = world.replicas;
    if (!a || !b) throw new Error('replicas');
    const lastOk = world.now();
    a.lock.setHanging(true);
    await world.until('a stops', () => !a.elector.isLeader, 20_000);
    const stoppedAt = world.now();
    expect(stoppedAt - lastOk).toBeLessThanOrEqual(T.renewDeadlineMs);
    expect(b.elector.isLeader).toBe(false);
    await world.until('b leads', () => b.elector.isLeader, 20_000);
    expect(world.now()).toBeGreaterThan(stoppedAt);
    expect(a.events.at(-1)).toMatchObject({ type: 'stopped', reason: 'lost' });
    // The API comes back: a sees b's valid lease and stays on standby.
    a.lock.setHanging(false);
    await world.advance(30_000);
    expect(world.leaders()).toEqual(['pod-b_2222']);
  });

  it('a leader answered with 5xx keeps leading while a renewal succeeds within the deadline', async () => {
    world = await twoReplicas();
    world.api.failNext(3, 500);
    await world.advance(20_000);
    expect(world.leaders()).toEqual(['pod-a_1111']);
    expect(world.replicas[0]?.events.filter((e) => e.type === 'stopped')).toEqual([]);
  });

  it('releases on clean shutdown (empty holder, 1 s): the standby takes over within about a retry period', async () => {
    world = await twoReplicas();
    const [a, b] = world.replicas;
    if (!a || !b) throw new Error('replicas');
    const stopping = a.elector.stop();
    await world.advance(0);
    await stopping;
    expect(world.api.lease(NAMESPACE, LEASE)?.spec).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 0,
    });
    expect(a.events.at(-1)).toMatchObject({ type: 'stopped', reason: 'shutdown' });
    const took = await world.until('b leads', () => b.elector.isLeader, 30_000);
    expect(took).toBeLessThanOrEqual(1_000 + T.retryPeriodMs * 1.2);
    expect(b.events[0]).toMatchObject({ epoch: { term: 1 } });
  });

  it('two candidates racing for an expired lease: one wins, the loser got a 409 and waits', async () => {
    world = await ElectionWorld.start();
    const a = world.replica('pod-a_1111', T);
    const b = world.replica('pod-b_2222', T);
    a.elector.start();
    b.elector.start();
    await world.advance(5_000);
    expect(world.leaders()).toHaveLength(1);
    expect(world.api.writes.some((w) => w.status === 409)).toBe(true);
    await world.advance(60_000);
    expect(world.leaders()).toHaveLength(1);
  });

  it('judges expiry on its own clock: a renewTime from a skewed remote clock changes nothing', async () => {
    world = await ElectionWorld.start();
    // Another replica wrote the lease with a renewTime far in the past (its clock is wrong), and then died.
    const other = world.replica('pod-x_9999', T);
    other.elector.start();
    await world.until('x leads', () => other.elector.isLeader, 1_000);
    other.lock.setHanging(true);
    const lease = world.api.lease(NAMESPACE, LEASE);
    if (!lease) throw new Error('no lease');
    lease.spec.renewTime = '2001-01-01T00:00:00.000000Z';
    lease.metadata.resourceVersion = '999999';
    const b = world.replica('pod-b_2222', T);
    b.elector.start();
    await world.advance(T.leaseDurationMs - 1_000);
    expect(b.elector.isLeader).toBe(false);
    await world.until('b leads', () => b.elector.isLeader, 5_000);
  });

  it('steps down when fenced and takes the lease again only after it expired, with a new term', async () => {
    world = await ElectionWorld.start();
    const a = world.replica('pod-a_1111', T);
    a.elector.start();
    await world.until('a leads', () => a.elector.isLeader, 1_000);
    await world.advance(4_000);
    const fencedAt = world.now();
    a.elector.stepDown('console refused the push: FAILED_PRECONDITION');
    await world.advance(0);
    expect(a.events.at(-1)).toMatchObject({ type: 'stopped', reason: 'fenced' });
    expect(a.elector.isLeader).toBe(false);
    await world.until('a leads again', () => a.elector.isLeader, 30_000);
    expect(world.now() - fencedAt).toBeGreaterThanOrEqual(T.leaseDurationMs - T.retryPeriodMs);
    expect(a.events.at(-1)).toMatchObject({ type: 'started', epoch: { term: 1, holder: 'pod-a_1111' } });
  });

  it('re-creates a deleted Lease above the highest term it saw, so the console does not refuse the new leader', async () => {
    world = await twoReplicas();
    const [a, b] = world.replicas;
    if (!a || !b) throw new Error('replicas');
    a.lock.setHanging(true);
    await world.until('b leads', () => b.elector.isLeader, 30_000);
    b.lock.setHanging(true);
    await world.until('b stops', () => !b.elector.isLeader, 20_000);
    world.api.delete(NAMESPACE, LEASE);
    b.lock.setHanging(false);
    await world.until('b leads again', () => b.elector.isLeader, 30_000);
    expect(b.events.at(-1)).toMatchObject({ type: 'started', epoch: { term: 2 } });
  });

  it('refuses timings client-go would refuse', async () => {
    world = await ElectionWorld.start();
    const w = world;
    expect(() =>
      w.replica('x', { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toThrow(/renewDeadlineMs must be less than leaseDurationMs/);
    expect(() =>
      w.replica('y', { leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    ).toThrow(/retryPeriodMs must be less than renewDeadlineMs/);
  });
});
