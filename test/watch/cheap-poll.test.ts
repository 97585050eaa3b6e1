import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { ThrottledError } from '../../src/watch/source.js';
import type { CheapPoll } from '../../src/watch/source.js';
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

  /** The fake's cheap poll with an interval the test changes and announces. */
  function announcing(fake: FakeProvider): { poll: CheapPoll; changes: Subject<void> } {
    const changes = new Subject<void>();
    const base = fake.cheapPoll;
    if (base === undefined) throw new Error('the fake has no cheap poll');
    const poll: CheapPoll = {
      intervalMs: base.intervalMs,
      poll: () => base.poll(),
      intervalChanges$: changes,
    };
    fake.cheapPoll = poll;
    return { poll, changes };
  }

  it('a shorter interval announced by the source brings the armed poll forward; a longer one never pushes it back', async () => {
    const fake = new FakeProvider({ pollIntervalMs: 300_000 });
    fake.feed = 'manual';
    fake.put('a', 'a1');
    const { poll, changes } = announcing(fake);
    const h = harness({}, fake);
    h.watch.start();
    await h.clock.advance(300_000);
    expect(fake.calls.poll).toBe(1);
    await h.clock.advance(100_000); // the next poll is 200 s away
    poll.intervalMs = 5_000;
    changes.next();
    await h.clock.advance(4_999);
    expect(fake.calls.poll).toBe(1);
    await h.clock.advance(1);
    expect(fake.calls.poll).toBe(2);
    // Back to the long interval: the poll armed at the short one still runs, then the long one holds.
    poll.intervalMs = 300_000;
    changes.next();
    await h.clock.advance(5_000);
    expect(fake.calls.poll).toBe(3);
    await h.clock.advance(299_999);
    expect(fake.calls.poll).toBe(3);
    await h.clock.advance(1);
    expect(fake.calls.poll).toBe(4);
  });

  it("a shorter interval does not bring a poll ahead of a failed poll's backoff", async () => {
    const fake = new FakeProvider({ pollIntervalMs: 300_000 });
    fake.feed = 'manual';
    const { poll, changes } = announcing(fake);
    const h = harness({}, fake);
    h.watch.start();
    fake.failures.poll.push(new ThrottledError('slow down', 60_000));
    await h.clock.advance(300_000); // fails: next in max(300 s, 60 s)
    expect(fake.calls.poll).toBe(1);
    await h.clock.advance(10_000);
    poll.intervalMs = 5_000;
    changes.next();
    await h.clock.advance(49_999); // the throttle asked for 60 s from the failure
    expect(fake.calls.poll).toBe(1);
    await h.clock.advance(1);
    expect(fake.calls.poll).toBe(2);
  });
});
