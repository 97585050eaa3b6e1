import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../src/watch/events.js';
import type { FakeObj } from './fake-source.js';
import { harness, summary } from './harness.js';
import { DeliveryQueue } from '../../src/watch/delivery.js';

describe('sequential delivery to a slow consumer', () => {
  it('delivers one at a time and emits on events$ only after deliver resolved', async () => {
    const delivered: string[] = [];
    let release: (() => void) | undefined;
    const h = harness({
      deliver: (e) =>
        new Promise<void>((resolve) => {
          delivered.push(e.type);
          release = resolve;
        }),
    });
    h.fake.put('a', 'a1');
    h.watch.start();
    await h.clock.settle();
    expect(delivered).toEqual(['RELIST']);
    expect(h.events).toEqual([]);
    release?.();
    await h.clock.settle();
    expect(delivered).toEqual(['RELIST', 'ADDED']);
    expect(summary(h.events)).toEqual(['RELIST start initial']);
  });

  it('keeps the queue bounded by the number of keys while thousands of updates arrive, never reordering a key', async () => {
    const KEYS = 20;
    const UPDATES = 5_000;
    let inFlight = 0;
    let maxInFlight = 0;
    const h = harness({
      deliver: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((resolve) => setImmediate(resolve));
        inFlight--;
      },
    });
    h.fake.hintWithState = true;
    for (let k = 0; k < KEYS; k++) h.fake.put(`k${k}`, 'v0');
    h.watch.start();
    await h.clock.settle();
    for (let i = 1; i <= UPDATES; i++) h.fake.put(`k${i % KEYS}`, `v${i}`);
    for (let i = 0; i < 200 && h.watch.queueDepth > 0; i++) await h.clock.settle();
    // at most one entry per key, plus at most one bookmark and one relist marker per phase
    expect(h.watch.maxQueueDepth).toBeLessThanOrEqual(KEYS + 3);
    expect(maxInFlight).toBe(1);
    const lastVersion = new Map<string, number>();
    for (const e of h.changes()) {
      if (e.type === 'DELETED') continue;
      const prev = lastVersion.get(e.key) ?? 0;
      expect(e.object.version).toBeGreaterThan(prev);
      lastVersion.set(e.key, e.object.version);
    }
    expect(h.changes().length).toBeLessThan(UPDATES / 10);
    // the final state of every key was delivered
    for (const [key, obj] of h.fake.objects) expect(lastVersion.get(key)).toBe(obj.version);
  });

  it('coalesces per key from the consumer view: ADDED+MODIFIED is ADDED, ADDED+DELETED is DELETED', async () => {
    let release: (() => void) | undefined;
    const h = harness({
      deliver: () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    });
    h.fake.hintWithState = true;
    h.watch.start();
    await h.clock.settle(); // RELIST start is in delivery, blocked
    h.fake.put('a', 'a1');
    h.fake.put('a', 'a2');
    h.fake.put('b', 'b1');
    await h.clock.settle(); // b reaches the store (and the delivery queue) before its delete
    h.fake.remove('b');
    await h.clock.settle();
    // RELIST done, a, b, BOOKMARK (RELIST start is in flight): the newest read round's bookmark
    // replaced the list's and moved behind the events it covers.
    expect(h.watch.queueDepth).toBe(4);
    for (let i = 0; i < 10; i++) {
      release?.();
      await h.clock.settle();
    }
    expect(summary(h.events)).toEqual([
      'RELIST start initial',
      'RELIST done initial',
      'ADDED a a2',
      'DELETED b',
      'BOOKMARK 4',
    ]);
  });

  it('a rejected delivery is retried after backoff with the newest state of that key', async () => {
    const seen: WatchEvent<FakeObj>[] = [];
    let failures = 1;
    const h = harness({
      deliver: (e) => {
        seen.push(e);
        if (e.type === 'ADDED' && failures > 0) {
          failures--;
          throw new Error('console down');
        }
      },
    });
    h.fake.hintWithState = true;
    h.watch.start();
    await h.clock.settle();
    h.fake.put('a', 'a1');
    await h.clock.settle();
    h.fake.put('a', 'a2'); // arrives while the retry waits
    await h.clock.advance(1_600);
    expect(summary(h.changes())).toEqual(['ADDED a a2']);
    expect(summary(seen.filter((e) => e.type === 'ADDED'))).toEqual(['ADDED a a1', 'ADDED a a2']);
  });
});

describe('a marker that failed to be delivered', () => {
  it('is retried as it was, and a newer bookmark stays behind the events queued before it', async () => {
    const delivered: string[] = [];
    let failNext = true;
    let wake: (() => void) | undefined;
    const q = new DeliveryQueue<FakeObj>({
      deliver: (e) => {
        if (e.type === 'BOOKMARK' && failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        if (e.type === 'BOOKMARK') delivered.push(`BOOKMARK ${e.cursor}`);
        else if (e.type !== 'RELIST') delivered.push(`${e.type} ${e.key}`);
      },
      emit: () => undefined,
      onDeliverError: () => 1_000,
      sleep: () => new Promise<void>((resolve) => (wake = resolve)),
    });
    q.push({ type: 'BOOKMARK', sourceId: 's', cursor: 'c1' });
    await Promise.resolve();
    // While the failed bookmark waits for its retry: an event, then a newer bookmark.
    q.push({
      type: 'ADDED',
      sourceId: 's',
      key: 'x',
      object: { key: 'x', version: 1, data: 'x1' },
      hash: 'h',
    });
    q.push({ type: 'BOOKMARK', sourceId: 's', cursor: 'c2' });
    wake?.();
    for (let i = 0; i < 20 && delivered.length < 3; i++) await new Promise((r) => setImmediate(r));
    await q.close();
    expect(delivered).toEqual(['BOOKMARK c1', 'ADDED x', 'BOOKMARK c2']);
  });
});
