import { describe, expect, it } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import type { Subscription } from 'rxjs';
import { ChangeFeed, CursorExpiredError, SharedFeeds } from '../../src/provider/change-feed.js';
import type { FeedSubscriber } from '../../src/provider/change-feed.js';
import { PageTokenCodec } from '../../src/provider/page-token.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { Timers } from '../../src/runtime/timers.js';
import { ThrottledError } from '../../src/watch/source.js';
import { VirtualClock } from '../watch/virtual-clock.js';

type Item = { type: 'n'; n: number } | { type: 'gap'; reason: string };

const cursors = new PageTokenCodec<number>('test-cursor', (v) => (typeof v === 'number' ? v : undefined));

/**
 * A scripted upstream: each session emits one number every `everyMs` (from the shared position)
 * until `script` says to end or fail it.
 */
class CountingFeed extends ChangeFeed<Item, { from: number }> {
  sessions = 0;
  readonly starts: number[] = [];
  position = 0;
  endAfter: number | undefined;
  failWith: ((session: number) => Error | undefined) | undefined;
  readonly joinedFrom: number[] = [];

  constructor(
    readonly clock: VirtualClock,
    resumable = true,
    readonly everyMs = 1_000,
  ) {
    super(
      { scheduler: clock.scheduler, logger: createLogger({ level: 'silent' }), random: () => 0 },
      { name: 'test', resumable, gapItem: (reason) => ({ type: 'gap', reason }) },
    );
  }

  protected join(fromCursor: string | undefined): { from: number } {
    if (fromCursor === undefined) return { from: this.position };
    const from = cursors.decode(fromCursor);
    if (from < 0) throw new CursorExpiredError('too old');
    return { from };
  }

  protected override joined(s: FeedSubscriber<Item, { from: number }>): void {
    this.joinedFrom.push(s.state.from);
  }

  protected async session(timers: Timers): Promise<void> {
    const session = ++this.sessions;
    this.starts.push(this.clock.now());
    let emitted = 0;
    for (;;) {
      if ((await timers.sleep(this.everyMs)) === 'cancelled') return;
      const err = this.failWith?.(session);
      if (err) throw err;
      this.broadcast({ type: 'n', n: ++this.position });
      if (this.endAfter !== undefined && ++emitted >= this.endAfter) return;
    }
  }
}

function collect(feed: CountingFeed, cursor?: string, accepts?: (i: Item) => boolean) {
  const items: Item[] = [];
  const state = { error: undefined as unknown, complete: false, sub: undefined as Subscription | undefined };
  state.sub = feed.subscribe(cursor, accepts).subscribe({
    next: (i) => items.push(i),
    error: (e: unknown) => (state.error = e),
    complete: () => (state.complete = true),
  });
  return { items, state };
}

describe('ChangeFeed (one upstream per scope, fan-out, reconnect)', () => {
  it('subscribers share one upstream session, each with its own filter', async () => {
    const clock = new VirtualClock();
    const feed = new CountingFeed(clock);
    const all = collect(feed);
    const even = collect(feed, undefined, (i) => i.type === 'n' && i.n % 2 === 0);
    await clock.advance(4_000);
    expect(feed.sessions).toBe(1);
    expect(all.items.map((i) => (i.type === 'n' ? i.n : -1))).toEqual([1, 2, 3, 4]);
    expect(even.items.map((i) => (i.type === 'n' ? i.n : -1))).toEqual([2, 4]);
  });

  it('the last subscriber leaving stops the upstream and leaves nothing scheduled; a new one starts it again', async () => {
    const clock = new VirtualClock();
    const feed = new CountingFeed(clock);
    const a = collect(feed);
    const b = collect(feed);
    await clock.advance(1_500);
    a.state.sub?.unsubscribe();
    await clock.advance(1_000);
    expect(b.items).toHaveLength(2);
    b.state.sub?.unsubscribe();
    await clock.settle();
    expect(clock.pendingActions).toBe(0);
    const c = collect(feed);
    await clock.advance(1_000);
    expect(feed.sessions).toBe(2);
    expect(c.items).toEqual([{ type: 'n', n: 3 }]);
  });

  it('a retryable failure reconnects after the runtime backoff, which starts over after 2 minutes of health', async () => {
    const clock = new VirtualClock();
    const feed = new CountingFeed(clock);
    const starts = feed.starts;
    feed.failWith = (s) => {
      if (s <= 3) return new ThrottledError('slow down');
      return undefined;
    };
    const a = collect(feed);
    await clock.advance(20_000);
    // session 1 fails at 1 s, waits 800 ms; session 2 fails 1 s later, waits 1600; session 3, 3200.
    expect(starts).toEqual([0, 1_800, 4_400, 8_600]);
    expect(a.state.error).toBeUndefined();
    expect(a.items.every((i) => i.type === 'n')).toBe(true); // resumable: no gap
    // Session 4 stays healthy for 2 minutes, then fails (at its 121st item): the wait is the
    // initial one again.
    const failAtMs = 8_600 + 121_000;
    feed.failWith = (s) => (s === 4 && clock.now() >= failAtMs ? new ThrottledError('again') : undefined);
    await clock.advance(failAtMs + 1_000 - clock.now());
    expect(starts.at(-1)).toBe(failAtMs + 800);
  });

  it('a feed that cannot resume sends a gap to every subscriber on each reconnect', async () => {
    const clock = new VirtualClock();
    const feed = new CountingFeed(clock, false);
    feed.endAfter = 1;
    const a = collect(feed);
    const b = collect(feed);
    await clock.advance(1_000 + 800 + 1_000);
    const expected = [
      { type: 'n', n: 1 },
      { type: 'gap', reason: 'change feed reconnected' },
      { type: 'n', n: 2 },
    ];
    expect(a.items).toEqual(expected);
    expect(b.items).toEqual(expected);
  });

  it('any other error errors every subscriber and stops the upstream until the next subscriber', async () => {
    const clock = new VirtualClock();
    const feed = new CountingFeed(clock);
    feed.failWith = (s) => (s === 1 ? new Error('denied') : undefined);
    const a = collect(feed);
    const b = collect(feed);
    await clock.advance(5_000);
    expect((a.state.error as Error).message).toBe('denied');
    expect((b.state.error as Error).message).toBe('denied');
    expect(feed.sessions).toBe(1);
    expect(clock.pendingActions).toBe(0);
    const c = collect(feed);
    await clock.advance(1_000);
    expect(c.items).toEqual([{ type: 'n', n: 1 }]);
  });

  it('an unreadable cursor is a gap and a start from now; an expired one a gap and the end', async () => {
    const clock = new VirtualClock();
    const feed = new CountingFeed(clock);
    feed.position = 7;
    const bad = collect(feed, 'not a cursor');
    expect(bad.items).toEqual([
      { type: 'gap', reason: expect.stringMatching(/unreadable test-cursor token/) },
    ]);
    expect(feed.joinedFrom).toEqual([7]);
    const good = collect(feed, cursors.encode(3));
    expect(feed.joinedFrom).toEqual([7, 3]);
    const expired = await firstValueFrom(feed.subscribe(cursors.encode(-1)).pipe(toArray()));
    expect(expired).toEqual([{ type: 'gap', reason: 'too old' }]);
    good.state.sub?.unsubscribe();
    bad.state.sub?.unsubscribe();
  });

  it('close() completes every subscriber, stops the upstream, and later subscribers complete at once', async () => {
    const clock = new VirtualClock();
    const feed = new CountingFeed(clock);
    const a = collect(feed);
    await clock.advance(1_000);
    feed.close();
    await clock.settle();
    expect(a.state.complete).toBe(true);
    expect(clock.pendingActions).toBe(0);
    const later = await firstValueFrom(feed.subscribe(undefined).pipe(toArray()));
    expect(later).toEqual([]);
  });

  it('SharedFeeds keeps one feed per scope and closes them all', () => {
    const created: string[] = [];
    let closed = 0;
    const feeds = new SharedFeeds((scope) => {
      created.push(scope);
      return { scope, close: () => void closed++ };
    });
    expect(feeds.feedFor('a')).toBe(feeds.feedFor('a'));
    feeds.feedFor('b');
    expect(created).toEqual(['a', 'b']);
    feeds.close();
    expect(closed).toBe(2);
  });
});
