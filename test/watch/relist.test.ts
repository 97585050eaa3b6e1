import { describe, expect, it } from 'vitest';
import { ThrottledError } from '../../src/watch/source.js';
import type { CheckpointObject } from '../../src/watch/events.js';
import type { FakeObj } from './fake-source.js';
import { harness, summary } from './harness.js';

const HOUR_MS = 3_600_000;

describe('relist and diff', () => {
  it('a gap hint relists once: vanished objects become DELETED tombstones with their last known state', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    h.fake.put('b', 'b1');
    h.watch.start();
    await h.clock.settle();
    h.fake.feed = 'manual'; // the feed loses these changes
    h.fake.remove('a');
    h.fake.put('b', 'b2');
    h.fake.put('c', 'c1');
    h.clear();
    h.fake.push({ type: 'gap', reason: 'suppressed entries' });
    await h.clock.settle();
    expect(summary(h.events)).toEqual([
      'RELIST start gap',
      'MODIFIED b b2',
      'ADDED c c1',
      'DELETED a tombstone',
      'RELIST done gap',
      'BOOKMARK 5',
    ]);
    const del = h.events.find((e) => e.type === 'DELETED');
    expect(del?.type === 'DELETED' && del.object.data).toBe('a1');
    // the cursor was reset to the new list's cursor: no relist loop
    expect(h.fake.hintCursors).toEqual(['2', '5']);
    await h.clock.advance(HOUR_MS);
    expect(h.fake.calls.list).toBe(2); // one page each, nothing since
  });

  it('a relist of an unchanged world emits nothing but the RELIST markers and the BOOKMARK', async () => {
    const h = harness();
    for (let i = 0; i < 7; i++) h.fake.put(`k${i}`, `v${i}`);
    h.watch.start();
    await h.clock.settle();
    h.clear();
    h.fake.push({ type: 'gap', reason: 'test' });
    await h.clock.settle();
    expect(summary(h.events)).toEqual(['RELIST start gap', 'RELIST done gap', 'BOOKMARK 7']);
  });

  it('hint stream error: backs off (800 ms..1.6 s) and resubscribes with the last cursor, no relist', async () => {
    const h = harness({ random: () => 0.5 });
    h.fake.put('a', 'a1');
    h.watch.start();
    await h.clock.settle();
    h.fake.put('a', 'a2'); // cursor 2
    await h.clock.settle();
    h.fake.endFeed(new Error('connection reset'));
    await h.clock.advance(1199);
    expect(h.fake.hintCursors).toEqual(['1']);
    await h.clock.advance(1);
    expect(h.fake.hintCursors).toEqual(['1', '2']);
    expect(h.fake.calls.list).toBe(1);
    expect(h.fake.subscribers.size).toBe(1);
  });

  it('hint stream completion without any cursor relists (cause gap)', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    h.fake.list = ((orig) => async (t: string | undefined) => {
      const p = await orig(t);
      delete p.cursor;
      return p;
    })(h.fake.list.bind(h.fake));
    h.watch.start();
    await h.clock.settle();
    h.clear();
    h.fake.endFeed();
    await h.clock.advance(1600);
    expect(summary(h.events)).toEqual(['RELIST start gap', 'RELIST done gap']);
  });

  it('throttling backs off without relisting: on the hint stream and on a list page', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    h.fake.put('b', 'b1');
    h.fake.put('c', 'c1');
    h.fake.failures.list.push(undefined, new ThrottledError('Rate exceeded', 5000));
    h.watch.start();
    await h.clock.settle();
    expect(h.fake.calls.list).toBe(2);
    await h.clock.advance(4999);
    expect(h.fake.calls.list).toBe(2);
    await h.clock.advance(1);
    // the throttled page is retried, not the whole list
    expect(h.fake.calls.list).toBe(3);
    expect(h.watch.store.size).toBe(3);
    h.clear();
    h.fake.endFeed(Object.assign(new Error('quota'), { code: 8 }));
    await h.clock.advance(60_000);
    expect(h.events.filter((e) => e.type === 'RELIST')).toEqual([]);
    expect(h.fake.hintCursors.length).toBe(2);
  });

  it('errors back off with client-go delays and retry until the list succeeds', async () => {
    const h = harness({ random: () => 0 });
    h.fake.put('a', 'a1');
    for (let i = 0; i < 8; i++) h.fake.failures.list.push(new Error('503'));
    h.watch.start();
    // waits 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000 (cap)
    const at: number[] = [];
    let calls = h.fake.calls.list;
    for (let t = 0; t < 200_000; t += 100) {
      await h.clock.advance(100);
      if (h.fake.calls.list !== calls) {
        calls = h.fake.calls.list;
        at.push(h.clock.now());
      }
    }
    expect(at).toEqual([800, 2400, 5600, 12000, 24800, 50400, 80400, 110400]);
    expect(h.watch.synced).toBe(true);
  });

  it('the watchdog relists when nothing was heard for watchdogTimeoutMs; hints keep it quiet', async () => {
    const h = harness({ watchdogTimeoutMs: 60_000 });
    h.fake.put('a', 'a1');
    h.watch.start();
    await h.clock.settle();
    await h.clock.advance(50_000);
    h.fake.push({ type: 'bookmark', cursor: 'x' });
    await h.clock.advance(50_000);
    expect(h.fake.calls.list).toBe(1);
    await h.clock.advance(10_000);
    expect(h.fake.calls.list).toBe(2);
    expect(summary(h.events).filter((s) => s.startsWith('RELIST'))).toContain('RELIST start watchdog');
  });

  it('relists periodically, jittered in [0.9, 1.1) x 10 h, emitting no object events for an unchanged world', async () => {
    for (const [r, expectedMs] of [
      [0, 9 * HOUR_MS],
      [0.999, Math.round(10 * HOUR_MS * (0.9 + 0.2 * 0.999))],
    ] as const) {
      const h = harness({ random: () => r });
      h.fake.put('a', 'a1');
      h.watch.start();
      await h.clock.settle();
      h.clear();
      await h.clock.advance(expectedMs - 1);
      expect(h.fake.calls.list).toBe(1);
      await h.clock.advance(1);
      expect(h.fake.calls.list).toBe(2);
      expect(summary(h.events)).toEqual(['RELIST start periodic', 'RELIST done periodic', 'BOOKMARK 1']);
      await h.watch.stop();
    }
  });

  it('starts from a checkpoint: relists with cause restart and emits only the differences', async () => {
    const h0 = harness();
    for (const k of ['a', 'b', 'c']) h0.fake.put(k, `${k}1`);
    const objects: CheckpointObject<FakeObj>[] = [...h0.fake.objects.values()].map((o) => ({
      key: o.key,
      hash: h0.fake.hashOf(o),
      order: o.version,
      object: { ...o },
    }));
    h0.fake.put('b', 'b2');
    h0.fake.remove('c');
    h0.fake.put('d', 'd1');
    const h = harness({ initial: { cursor: '3', objects } }, h0.fake);
    expect(h.watch.store.size).toBe(0);
    h.watch.start();
    await h.clock.settle();
    expect(summary(h.events)).toEqual([
      'RELIST start restart',
      'MODIFIED b b2',
      'ADDED d d1',
      'DELETED c tombstone',
      'RELIST done restart',
      'BOOKMARK 6',
    ]);
    expect([...h.watch.store.keys()].sort()).toEqual(['a', 'b', 'd']);
  });

  it('a list item that cannot be read is skipped and counted; its key keeps its last state (no tombstone)', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    h.fake.put('b', 'b1');
    h.watch.start();
    await h.clock.settle();
    const hashOf = h.fake.hashOf.bind(h.fake);
    h.fake.hashOf = (o) => {
      if (o.data === 'BAD') throw new Error('unreadable');
      return hashOf(o);
    };
    h.fake.feed = 'manual';
    h.fake.put('a', 'BAD');
    h.fake.put('b', 'b2');
    h.clear();
    h.fake.push({ type: 'gap', reason: 'test' });
    await h.clock.settle();
    expect(summary(h.changes())).toEqual(['MODIFIED b b2']);
    expect(h.watch.store.get('a')?.data).toBe('a1');
  });

  it('a list failing mid-way (not throttling) restarts from the first page', async () => {
    const h = harness({ random: () => 0 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) h.fake.put(k, `${k}1`);
    const tokens: Array<string | undefined> = [];
    const list = h.fake.list.bind(h.fake);
    h.fake.list = (t) => {
      tokens.push(t);
      return list(t);
    };
    h.fake.failures.list.push(undefined, new Error('500'));
    h.watch.start();
    await h.clock.advance(800);
    expect(tokens).toEqual([undefined, '2', undefined, '2', '4']);
    expect(summary(h.changes())).toEqual([
      'ADDED a a1',
      'ADDED b b1',
      'ADDED c c1',
      'ADDED d d1',
      'ADDED e e1',
    ]);
  });
});
