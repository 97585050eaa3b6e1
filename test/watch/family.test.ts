import { describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import { harness, summary } from './harness.js';
import type { Harness } from './harness.js';
import type { Indexers } from '../../src/watch/store.js';

/** A fake whose objects are filed under their owner and whose parents name their children. */
class FamilyProvider extends FakeProvider {
  readonly indexers: Indexers<FakeObj> = { owner: (o) => (o.owner === undefined ? [] : [o.owner]) };
  childKeysOf(parent: FakeObj): string[] {
    return parent.children ?? [];
  }
}

function putChild(fake: FakeProvider, key: string, data: string, owner: string): void {
  fake.put(key, data).owner = owner;
}

function setChildren(fake: FakeProvider, parent: string, children: string[]): void {
  const p = fake.objects.get(parent);
  if (p === undefined) throw new Error(`no parent ${parent}`);
  p.children = children;
}

/** A started watch on parent `p` with children `c1`, `c2`; the feed is manual from here on. */
async function family(fake: FakeProvider = new FamilyProvider()): Promise<Harness> {
  const h = harness({}, fake);
  h.fake.put('p', 'p1');
  putChild(h.fake, 'c1', 'c1-1', 'p');
  putChild(h.fake, 'c2', 'c2-1', 'p');
  setChildren(h.fake, 'p', ['c1', 'c2']);
  h.watch.start();
  await h.clock.settle();
  h.fake.feed = 'manual';
  h.fake.calls = { list: 0, get: 0, getMany: 0, poll: 0 };
  h.fake.getManyBatches.length = 0;
  h.clear();
  return h;
}

describe('family hints: a parent and its children', () => {
  it('reads the parent once and its children once, in one batch, and emits only what changed', async () => {
    const h = await family();
    h.fake.put('c1', 'c1-2');
    h.fake.push({ type: 'family', key: 'p', index: 'owner', cursor: '9' });
    await h.clock.settle();
    expect(h.fake.calls.get).toBe(1);
    expect(h.fake.calls.getMany).toBe(1);
    expect(h.fake.getManyBatches[0]?.slice().sort()).toEqual(['c1', 'c2']);
    // The round's events carry no cursor; its bookmark follows them.
    expect(summary(h.events)).toEqual(['MODIFIED c1 c1-2', 'BOOKMARK 9']);
    expect(h.events[0]?.type === 'MODIFIED' && h.events[0].cursor).toBeUndefined();
  });

  it('a child the parent names that the store does not hold yet arrives as ADDED', async () => {
    const h = await family();
    putChild(h.fake, 'c3', 'c3-1', 'p');
    setChildren(h.fake, 'p', ['c1', 'c2', 'c3']);
    h.fake.push({ type: 'family', key: 'p', index: 'owner' });
    await h.clock.settle();
    expect(h.fake.getManyBatches[0]?.slice().sort()).toEqual(['c1', 'c2', 'c3']);
    expect(summary(h.events)).toEqual(['ADDED c3 c3-1']);
    expect([...h.watch.store.byIndex('owner', 'p')].sort()).toEqual(['c1', 'c2', 'c3']);
  });

  it('an indexed child the reads find gone becomes a DELETED tombstone with its last known state', async () => {
    const h = await family();
    h.fake.remove('c2');
    setChildren(h.fake, 'p', ['c1']);
    h.fake.push({ type: 'family', key: 'p', index: 'owner' });
    await h.clock.settle();
    expect(summary(h.events)).toEqual(['DELETED c2 tombstone']);
    const del = h.events[0];
    expect(del?.type === 'DELETED' && del.object.data).toBe('c2-1');
    expect(h.watch.store.has('c2')).toBe(false);
    expect([...h.watch.store.byIndex('owner', 'p')]).toEqual(['c1']);
  });

  it('a parent found gone is DELETED and tombstones its indexed children without reading them', async () => {
    const h = await family();
    h.fake.remove('p');
    h.fake.push({ type: 'family', key: 'p', index: 'owner' });
    await h.clock.settle();
    expect(h.fake.calls.get).toBe(1);
    expect(h.fake.calls.getMany).toBe(0);
    expect(summary(h.events)).toEqual(['DELETED p', 'DELETED c1 tombstone', 'DELETED c2 tombstone']);
    expect(h.watch.store.size).toBe(0);
  });

  it('a child read in the same round keeps what its read says, even when its parent is gone', async () => {
    const h = await family();
    h.fake.remove('p');
    h.fake.put('c1', 'c1-2');
    h.fake.push({ type: 'changed', key: 'c1' });
    h.fake.push({ type: 'family', key: 'p', index: 'owner' });
    await h.clock.settle();
    expect(summary(h.events)).toEqual(['MODIFIED c1 c1-2', 'DELETED p', 'DELETED c2 tombstone']);
    expect(h.fake.calls.getMany).toBe(1); // c1 and p together; c2 is not read
  });

  it("a parent's event does not carry the cursor while its children's reads are still to be retried", async () => {
    const h = await family();
    h.fake.put('p', 'p2');
    h.fake.put('c1', 'c1-2');
    h.fake.failures.get.push(undefined, new Error('children read failed')); // the parent read lands
    h.fake.push({ type: 'family', key: 'p', index: 'owner', cursor: '9' });
    await h.clock.settle();
    expect(summary(h.events)).toEqual(['MODIFIED p p2']);
    // A consumer that persisted a cursor here would resume after the children's change.
    expect(
      h.events.some((e) => e.type === 'BOOKMARK' || (e.type !== 'RELIST' && e.cursor !== undefined)),
    ).toBe(false);
    await h.clock.advance(2_000);
    expect(summary(h.events)).toEqual(['MODIFIED p p2', 'MODIFIED c1 c1-2', 'BOOKMARK 9']);
  });

  it('repeated family hints for one key coalesce into one read round', async () => {
    const h = await family();
    h.fake.put('c2', 'c2-2');
    for (const cursor of ['7', '8', '9']) h.fake.push({ type: 'family', key: 'p', index: 'owner', cursor });
    h.fake.push({ type: 'bookmark', cursor: '10' });
    await h.clock.settle();
    expect(h.fake.calls.get).toBe(1);
    expect(h.fake.calls.getMany).toBe(1);
    expect(summary(h.events)).toEqual(['MODIFIED c2 c2-2', 'BOOKMARK 10']);
  });

  it('without getMany the children are read one by one with get', async () => {
    const fake = new FamilyProvider({ getMany: false });
    const h = await family(fake);
    h.fake.put('c1', 'c1-2');
    h.fake.push({ type: 'family', key: 'p', index: 'owner' });
    await h.clock.settle();
    expect(h.fake.calls.get).toBe(3);
    expect(summary(h.events)).toEqual(['MODIFIED c1 c1-2']);
  });

  it('a failed child read backs off and expands the family again', async () => {
    const h = await family();
    h.fake.remove('c1');
    setChildren(h.fake, 'p', ['c2']);
    h.fake.push({ type: 'family', key: 'p', index: 'owner' });
    h.fake.failures.get.push(undefined, new Error('describe failed')); // parent read ok, children fail
    await h.clock.settle();
    expect(summary(h.events)).toEqual([]);
    await h.clock.advance(2_000);
    expect(summary(h.events)).toEqual(['DELETED c1 tombstone']);
    expect(h.fake.calls.get).toBe(2);
    expect(h.fake.calls.getMany).toBe(2);
  });
});
