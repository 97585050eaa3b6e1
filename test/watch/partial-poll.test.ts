/**
 * A cheap poll may cover part of the store (`PartialPoll`, scoped by a named index): the engine
 * compares only the stored keys under the covered index values. A key vanished from a covered
 * cluster is read and deleted, a new key there is read and added; the keys of uncovered clusters
 * are neither read nor deleted, and their last polled tokens are kept for the next poll that
 * covers them. A plain token map stays a full poll.
 */
import { describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import { harness, summary } from './harness.js';
import { PartialPoll } from '../../src/watch/source.js';
import type { PollToken } from '../../src/watch/source.js';
import type { Indexers } from '../../src/watch/store.js';

const POLL_MS = 5_000;

/** Objects filed by cluster (`owner` holds the cluster); each poll lists only `covered` clusters. */
class ClusteredProvider extends FakeProvider {
  readonly indexers: Indexers<FakeObj> = { cluster: (o) => (o.owner === undefined ? [] : [o.owner]) };
  /** The clusters the next polls list; undefined: a full poll (a plain token map). */
  covered: string[] | undefined;

  constructor() {
    super({ pollIntervalMs: POLL_MS });
    this.feed = 'manual'; // the feed misses everything: only the poll can find changes
    this.cheapPoll = {
      intervalMs: POLL_MS,
      poll: async () => {
        this.calls.poll++;
        const covered = this.covered;
        const tokens: Map<string, PollToken> =
          covered === undefined ? new Map() : new PartialPoll({ index: 'cluster', values: covered });
        for (const o of this.objects.values())
          if (covered === undefined || covered.includes(o.owner ?? '')) tokens.set(o.key, String(o.version));
        return tokens;
      },
    };
  }

  /** The keys read since the start (get and getMany). */
  reads(): string[] {
    return [...this.gets, ...this.getManyBatches.flat()].sort();
  }

  private readonly gets: string[] = [];

  override async get(key: string): Promise<FakeObj | undefined> {
    this.gets.push(key);
    return super.get(key);
  }

  putIn(cluster: string, key: string, data: string): void {
    this.put(key, data);
    const o = this.objects.get(key);
    if (o !== undefined) o.owner = cluster;
  }
}

/** A watch over clusters A (a1, a2) and B (b1, b2), listed, with one full poll as the baseline. */
async function started(): Promise<{
  fake: ClusteredProvider;
  h: ReturnType<typeof harness>;
  reads: () => string[];
}> {
  const fake = new ClusteredProvider();
  for (const [cluster, key] of [
    ['A', 'a1'],
    ['A', 'a2'],
    ['B', 'b1'],
    ['B', 'b2'],
  ] as const)
    fake.putIn(cluster, key, `${key}-1`);
  const h = harness({}, fake);
  h.watch.start();
  await h.clock.settle();
  await h.clock.advance(POLL_MS); // a full poll: every token known, nothing to read
  expect(fake.calls.poll).toBe(1);
  expect(fake.reads()).toEqual([]);
  h.clear();
  return { fake, h, reads: () => fake.reads() };
}

describe('partial cheap poll', () => {
  it('reads a key vanished from a covered cluster and deletes it, and reads a new key there', async () => {
    const { fake, h, reads } = await started();
    fake.covered = ['A'];
    fake.remove('a2');
    fake.putIn('A', 'a3', 'a3-1');
    await h.clock.advance(POLL_MS);
    expect(fake.calls.poll).toBe(2);
    expect(reads()).toEqual(['a2', 'a3']);
    expect(summary(h.changes()).sort()).toEqual(['ADDED a3 a3-1', 'DELETED a2']);
    expect(h.watch.store.has('a2')).toBe(false);
  });

  it('neither reads nor deletes the keys of clusters it does not cover', async () => {
    const { fake, h, reads } = await started();
    fake.covered = ['A'];
    fake.remove('b1');
    fake.putIn('B', 'b2', 'b2-2');
    await h.clock.advance(POLL_MS);
    await h.clock.advance(POLL_MS);
    expect(fake.calls.poll).toBe(3);
    expect(reads()).toEqual([]);
    expect(h.changes()).toEqual([]);
    expect([...h.watch.store.keys()].sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it("keeps an uncovered key's last token: the next poll that covers it reads it only if it changed", async () => {
    const { fake, h, reads } = await started();
    fake.covered = ['A'];
    fake.putIn('B', 'b2', 'b2-2'); // B's tokens from the full poll must survive the polls of A
    await h.clock.advance(POLL_MS);
    await h.clock.advance(POLL_MS);
    expect(reads()).toEqual([]);
    fake.covered = ['B'];
    await h.clock.advance(POLL_MS);
    expect(reads()).toEqual(['b2']);
    expect(summary(h.changes())).toEqual(['MODIFIED b2 b2-2']);
  });

  it('a plain token map is still a full poll: every stored key it does not give has vanished', async () => {
    const { fake, h, reads } = await started();
    fake.remove('b1');
    fake.putIn('A', 'a2', 'a2-2');
    await h.clock.advance(POLL_MS);
    expect(reads()).toEqual(['a2', 'b1']);
    expect(summary(h.changes()).sort()).toEqual(['DELETED b1', 'MODIFIED a2 a2-2']);
  });
});
