import { describe, expect, it } from 'vitest';
import { harness, summary } from './harness.js';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import type { WatchStore } from '../../src/watch/store.js';

async function started(h: ReturnType<typeof harness>): Promise<void> {
  h.watch.start();
  await h.clock.settle();
}

describe('list, then watch from the list cursor', () => {
  it('lists every page, emits every object as ADDED, then RELIST done and a BOOKMARK with the list cursor', async () => {
    const h = harness();
    for (const k of ['a', 'b', 'c', 'd', 'e']) h.fake.put(k, `${k}1`);
    expect(h.watch.synced).toBe(false);
    await started(h);
    expect(h.fake.calls.list).toBe(3); // 5 objects, page size 2
    expect(summary(h.events)).toEqual([
      'RELIST start initial',
      'ADDED a a1',
      'ADDED b b1',
      'ADDED c c1',
      'ADDED d d1',
      'ADDED e e1',
      'RELIST done initial',
      'BOOKMARK 5',
    ]);
    expect(h.watch.synced).toBe(true);
    expect(h.watch.store.size).toBe(5);
    expect(h.watch.store.get('c')?.data).toBe('c1');
    // hints are read from the first page's cursor
    expect(h.fake.hintCursors).toEqual(['5']);
  });

  it('ADDED and MODIFIED carry the hash and order the engine computed (consumers need not recompute them)', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    await started(h);
    h.fake.hintWithState = true;
    h.fake.put('a', 'a2');
    await h.clock.settle();
    const changes = h.events.flatMap((e) => (e.type === 'ADDED' || e.type === 'MODIFIED' ? [e] : []));
    expect(changes.map((e) => [e.type, e.hash])).toEqual([
      ['ADDED', '|a1'],
      ['MODIFIED', '|a2'],
    ]);
    for (const e of changes) expect(e.order).toBe(h.fake.orderOf(e.object));
    expect(changes[1]?.order).toBeGreaterThan(changes[0]?.order ?? Infinity);
  });

  it('retain is applied to every object before the store keeps it; the kept object is the one emitted', async () => {
    const retained: string[] = [];
    const h = harness({
      retain: (o) => {
        retained.push(o.key);
        return { ...o, data: o.data.toUpperCase() };
      },
    });
    h.fake.put('a', 'a1');
    await started(h);
    h.fake.hintWithState = true;
    h.fake.put('a', 'a2');
    h.fake.put('b', 'b1');
    await h.clock.settle();
    expect(retained).toEqual(['a', 'a', 'b']);
    expect(h.watch.store.get('a')?.data).toBe('A2');
    expect(summary(h.changes())).toEqual(['ADDED a A1', 'MODIFIED a A2', 'ADDED b B1']);
  });

  it('hands its store to a source that asks for it: the source reads what the engine holds, read-only', async () => {
    const fake = new FakeProvider();
    let attached: WatchStore<FakeObj> | undefined;
    const withStore = Object.assign(fake, {
      attachStore(store: WatchStore<FakeObj>): void {
        attached = store;
      },
    });
    const h = harness({}, withStore);
    fake.put('a', 'a1');
    fake.put('b', 'b1');
    expect(attached).toBeDefined();
    expect(attached?.size).toBe(0);
    await started(h);
    expect([...(attached?.keys() ?? [])].sort()).toEqual(['a', 'b']);
    expect(attached?.get('a')?.data).toBe('a1');
  });

  it('synced$ turns true once the first list completed', async () => {
    const h = harness();
    const seen: boolean[] = [];
    h.watch.synced$.subscribe((v) => seen.push(v));
    h.fake.failures.list.push(new Error('boom'));
    await started(h);
    expect(seen).toEqual([false]);
    await h.clock.advance(2000);
    expect(seen).toEqual([false, true]);
  });

  it('a changed hint with state is applied without a provider read', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    await started(h);
    h.clear();
    h.fake.hintWithState = true;
    h.fake.put('a', 'a2');
    await h.clock.settle();
    expect(summary(h.changes())).toEqual(['MODIFIED a a2']);
    expect(h.fake.calls.get + h.fake.calls.getMany).toBe(0);
  });

  it('a changed hint without state reads the object with get and emits MODIFIED, or ADDED for a new key', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    await started(h);
    h.clear();
    h.fake.put('a', 'a2');
    await h.clock.settle();
    h.fake.put('n', 'n1');
    await h.clock.settle();
    expect(summary(h.changes())).toEqual(['MODIFIED a a2', 'ADDED n n1']);
    expect(h.fake.calls.get).toBe(2);
    expect(h.watch.store.get('n')?.data).toBe('n1');
  });

  it('several pending keys are read with one getMany', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    h.fake.put('b', 'b1');
    await started(h);
    h.clear();
    h.fake.feed = 'manual';
    h.fake.put('a', 'a2');
    h.fake.put('b', 'b2');
    h.fake.put('c', 'c1');
    for (const { hint } of h.fake.log.slice(-3)) h.fake.push(hint);
    await h.clock.settle();
    expect(h.fake.calls.getMany).toBe(1);
    expect(h.fake.getManyBatches[0]?.sort()).toEqual(['a', 'b', 'c']);
    expect(summary(h.changes()).sort()).toEqual(['ADDED c c1', 'MODIFIED a a2', 'MODIFIED b b2']);
  });

  it('emits nothing when the content hash did not change', async () => {
    const h = harness();
    h.fake.put('a', 'same');
    await started(h);
    h.clear();
    h.fake.put('a', 'same'); // new version, same content
    await h.clock.settle();
    h.fake.hintWithState = true;
    h.fake.put('a', 'same');
    await h.clock.settle();
    expect(h.changes()).toEqual([]);
  });

  it('never emits an older state after a newer one (orderOf)', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    await started(h);
    h.fake.feed = 'manual';
    const older = h.fake.put('a', 'a2');
    const newer = h.fake.put('a', 'a3');
    h.clear();
    h.fake.push({ type: 'changed', key: 'a', state: newer });
    await h.clock.settle();
    h.fake.push({ type: 'changed', key: 'a', state: older }); // delayed, reordered
    await h.clock.settle();
    expect(summary(h.changes())).toEqual(['MODIFIED a a3']);
    expect(h.watch.store.get('a')?.version).toBe(newer.version);
    // and a late state does not resurrect a deleted object
    h.fake.remove('a');
    h.fake.push({ type: 'deleted', key: 'a' });
    await h.clock.settle();
    h.fake.push({ type: 'changed', key: 'a', state: newer });
    await h.clock.settle();
    expect(summary(h.changes())).toEqual(['MODIFIED a a3', 'DELETED a']);
    expect(h.watch.store.has('a')).toBe(false);
  });

  it('a deleted hint is confirmed with get: DELETED (tombstone false) with the last known state', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    h.fake.put('b', 'b1');
    await started(h);
    h.clear();
    h.fake.remove('a');
    await h.clock.settle();
    // a delete hint for an object that still exists is not believed
    h.fake.push({ type: 'deleted', key: 'b' });
    await h.clock.settle();
    expect(h.changes()).toEqual([
      {
        type: 'DELETED',
        sourceId: 'fake/source',
        key: 'a',
        object: { key: 'a', version: 1, data: 'a1' },
        tombstone: false,
      },
    ]);
    expect(summary(h.events).at(-1)).toBe('BOOKMARK 3');
    expect(h.watch.store.has('b')).toBe(true);
    expect(h.fake.calls.get).toBe(2);
  });

  it('bookmark hints become BOOKMARK events after the changes hinted before them', async () => {
    const h = harness();
    await started(h);
    h.clear();
    h.fake.put('a', 'a1');
    h.fake.push({ type: 'bookmark', cursor: 'C7' });
    await h.clock.settle();
    expect(summary(h.events)).toEqual(['ADDED a a1', 'BOOKMARK C7']);
  });
});

describe('bad hints', () => {
  it('skips hints without a key, of unknown type, or whose state cannot be read, and keeps watching', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    h.watch.start();
    await h.clock.settle();
    h.clear();
    const orderOf = h.fake.orderOf.bind(h.fake);
    h.fake.orderOf = (o) => {
      if (o.data === 'BAD') throw new Error('bad');
      return orderOf(o);
    };
    h.fake.hintWithState = true;
    h.fake.feed = 'manual';
    const bad = JSON.parse(
      '[{"type":"changed"},{"type":"weird","key":"a"},{"type":"changed","key":""}]',
    ) as Array<Parameters<typeof h.fake.push>[0]>;
    for (const hint of bad) h.fake.push(hint);
    h.fake.push({ type: 'changed', key: 'a', state: h.fake.put('a', 'x') });
    h.fake.push({ type: 'changed', key: 'a', state: h.fake.put('a', 'BAD') });
    await h.clock.settle();
    h.fake.put('a', 'a2');
    h.fake.push(h.fake.log[h.fake.log.length - 1]?.hint ?? { type: 'gap', reason: 'unexpected' });
    await h.clock.settle();
    expect(summary(h.changes())).toEqual(['MODIFIED a x', 'MODIFIED a a2']);
    expect(h.fake.calls.get + h.fake.calls.getMany).toBe(0);
  });
});
