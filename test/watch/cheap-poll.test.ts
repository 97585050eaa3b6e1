import { describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-source.js';
import { harness, summary } from './harness.js';

describe('cheap poll', () => {
  it('every intervalMs: fetches only new, changed and vanished keys with getMany and emits accordingly', async () => {
    const fake = new FakeProvider({ pollIntervalMs: 30_000 });
    fake.feed = 'manual'; // the feed misses everything: only the poll can find changes
    for (const k of ['a', 'b', 'c', 'd']) fake.put(k, `${k}1`);
    const h = harness({}, fake);
    h.watch.start();
    await h.clock.settle();
    await h.clock.advance(30_000); // first poll: baseline, nothing to fetch
    expect(fake.calls.poll).toBe(1);
    expect(fake.calls.getMany + fake.calls.get).toBe(0);
    h.clear();
    fake.put('b', 'b2');
    fake.remove('c');
    fake.put('e', 'e1');
    await h.clock.advance(29_999);
    expect(fake.calls.poll).toBe(1);
    await h.clock.advance(1);
    expect(fake.calls.poll).toBe(2);
    expect(fake.calls.getMany).toBe(1);
    expect(fake.getManyBatches[0]?.sort()).toEqual(['b', 'c', 'e']);
    expect(summary(h.events).sort()).toEqual(['ADDED e e1', 'DELETED c', 'MODIFIED b b2']);
    // an unchanged world polls without reads
    await h.clock.advance(30_000);
    expect(fake.calls.poll).toBe(3);
    expect(fake.calls.getMany).toBe(1);
  });

  it('falls back to get for a single key, and a poll success keeps the watchdog quiet', async () => {
    const fake = new FakeProvider({ pollIntervalMs: 10_000, getMany: false });
    fake.feed = 'manual';
    fake.put('a', 'a1');
    const h = harness({ watchdogTimeoutMs: 25_000 }, fake);
    h.watch.start();
    await h.clock.advance(10_000);
    fake.put('a', 'a2');
    await h.clock.advance(10_000);
    expect(fake.calls.get).toBe(1);
    expect(summary(h.changes())).toEqual(['ADDED a a1', 'MODIFIED a a2']);
    await h.clock.advance(100_000);
    expect(fake.calls.list).toBe(1);
  });

  it('a failing poll backs off and polls again', async () => {
    const fake = new FakeProvider({ pollIntervalMs: 1_000 });
    fake.feed = 'manual';
    fake.put('a', 'a1');
    const h = harness({}, fake);
    h.watch.start();
    await h.clock.advance(1_000);
    fake.failures.poll.push(new Error('x'));
    await h.clock.advance(1_000); // fails; next in max(1 s, backoff 800 ms) = 1 s
    expect(fake.calls.poll).toBe(2);
    fake.remove('a');
    await h.clock.advance(1_000);
    expect(fake.calls.poll).toBe(3);
    expect(summary(h.changes())).toEqual(['ADDED a a1', 'DELETED a']);
  });
});
