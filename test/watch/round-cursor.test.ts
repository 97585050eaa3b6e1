/**
 * The cursor a consumer persists never passes a hint whose change it has not received: the events
 * of one read round carry no cursor, and one BOOKMARK with the round's newest cursor follows them.
 * The consumer here persists cursors as the console sink does (BOOKMARK, RELIST done, and any
 * object event that carries one), one event at a time; a crash can fall between any two events.
 */
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../src/watch/events.js';
import type { FakeObj } from './fake-source.js';
import { harness, summary } from './harness.js';

/** The cursor the sink holds after each prefix of `events` (undefined: none yet). */
function persistedAfterEach(events: WatchEvent<FakeObj>[]): Array<string | undefined> {
  let cursor: string | undefined;
  return events.map((e) => {
    if (e.type === 'BOOKMARK') cursor = e.cursor;
    else if (e.type === 'RELIST') cursor = e.phase === 'done' ? (e.cursor ?? cursor) : cursor;
    else if (e.cursor !== undefined) cursor = e.cursor;
    return cursor;
  });
}

/**
 * For every prefix of `events` (a crash after it): each hinted change whose cursor the sink already
 * holds was delivered in that prefix. Returns the violations.
 */
function lostAtCrash(
  events: WatchEvent<FakeObj>[],
  hinted: Array<{ key: string; cursor: number }>,
): string[] {
  const persisted = persistedAfterEach(events);
  const lost: string[] = [];
  events.forEach((_, i) => {
    const cursor = persisted[i];
    if (cursor === undefined) return;
    const delivered = new Set(
      events.slice(0, i + 1).flatMap((e) => (e.type === 'BOOKMARK' || e.type === 'RELIST' ? [] : [e.key])),
    );
    for (const h of hinted)
      if (h.cursor <= Number(cursor) && !delivered.has(h.key))
        lost.push(
          `crash after event ${i + 1}: cursor ${cursor} persisted, ${h.key} (hint ${h.cursor}) not applied`,
        );
  });
  return lost;
}

/** a (hinted at 5, again at 7) and b (hinted at 6), read in one round. */
const HINTED_A_B_A = [
  { key: 'a', cursor: 5 },
  { key: 'b', cursor: 6 },
  { key: 'a', cursor: 7 },
];

/** A watch synced on a1 and b1 whose hints the test pushes itself. */
async function syncedTwoKeys(opts: { batchedReads?: boolean } = {}): Promise<ReturnType<typeof harness>> {
  const h = harness();
  if (opts.batchedReads === false) h.fake.getMany = undefined;
  h.fake.put('a', 'a1');
  h.fake.put('b', 'b1');
  h.watch.start();
  await h.clock.settle();
  h.fake.feed = 'manual';
  h.clear();
  return h;
}

describe('cursors of a read round', () => {
  it('a key hinted again later in the round does not carry the newer cursor past an earlier key', async () => {
    const h = await syncedTwoKeys();
    h.fake.put('a', 'a2');
    h.fake.put('b', 'b2');
    h.fake.put('a', 'a3');
    // One round: a (hinted at 5, again at 7) is first in it, b (hinted at 6) second.
    const hinted = HINTED_A_B_A;
    for (const x of hinted) h.fake.push({ type: 'changed', key: x.key, cursor: String(x.cursor) });
    await h.clock.settle();
    expect(lostAtCrash(h.events, hinted)).toEqual([]);
    expect(summary(h.events)).toEqual(['MODIFIED a a3', 'MODIFIED b b2', 'BOOKMARK 7']);
  });

  it('a round whose reads fail part way leaves the cursor where it was until the retry applied the rest', async () => {
    // Read one by one: the first read lands, the second fails.
    const h = await syncedTwoKeys({ batchedReads: false });
    h.fake.put('a', 'a2');
    h.fake.put('b', 'b2');
    const hinted = HINTED_A_B_A;
    for (const x of hinted) h.fake.push({ type: 'deleted', key: x.key, cursor: String(x.cursor) });
    h.fake.failures.get.push(undefined, new Error('read failed'));
    await h.clock.settle();
    expect(summary(h.events)).toEqual(['MODIFIED a a2']);
    // The engine backs off before reading b again: a crash now must resume from before hint 6.
    expect(lostAtCrash(h.events, hinted)).toEqual([]);
    await h.clock.advance(2_000);
    expect(summary(h.events)).toEqual(['MODIFIED a a2', 'MODIFIED b b2', 'BOOKMARK 7']);
    expect(lostAtCrash(h.events, hinted)).toEqual([]);
  });
});
