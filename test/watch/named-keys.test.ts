/**
 * Keys a source cannot read back (Cloud Run's are a hash of the resource name) travel with the
 * provider's name (`ref`) from a hint, a parent's `childKeysOf` or a cheap poll token, and the engine
 * hands it back to `get` / `getMany` while its store does not hold the key, also when a failed read
 * is retried. The source keeps no book of names: the fake below can read a key only when the store
 * holds it or its name comes with it.
 */
import { describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import { harness, summary } from './harness.js';
import type { Harness } from './harness.js';
import { emptyWatchStore } from '../../src/watch/source.js';
import type { NamedKey, PollToken, WatchStore } from '../../src/watch/source.js';
import type { Indexers } from '../../src/watch/store.js';

const nameOf = (key: string): string => `name-of/${key}`;

class NamedProvider extends FakeProvider {
  readonly indexers: Indexers<FakeObj> = { owner: (o) => (o.owner === undefined ? [] : [o.owner]) };
  private store: WatchStore<FakeObj> = emptyWatchStore();
  /** Every read: the key and the name that came with it. */
  readonly reads: Array<[string, string | undefined]> = [];
  /** Names the next polls give (key -> token with the name). */
  pollNames = new Map<string, PollToken>();

  constructor() {
    super({ pollIntervalMs: 60_000 });
    const inner = this.getMany;
    this.getMany = async (keys, refs?: ReadonlyMap<string, string>) => {
      for (const k of keys) this.reads.push([k, refs?.get(k)]);
      const got = inner ? await inner(keys) : new Map<string, FakeObj | undefined>();
      for (const k of keys) if (!this.readable(k, refs?.get(k))) got.delete(k);
      return got;
    };
    const poll = this.cheapPoll;
    if (poll)
      this.cheapPoll = {
        intervalMs: poll.intervalMs,
        poll: async () => {
          const m = new Map<string, PollToken>(await poll.poll());
          for (const [k, t] of this.pollNames) m.set(k, t);
          return m;
        },
      };
  }

  attachStore(store: WatchStore<FakeObj>): void {
    this.store = store;
  }

  /** A key is readable when the store holds it or its right name comes with it. */
  private readable(key: string, ref: string | undefined): boolean {
    return this.store.has(key) || ref === nameOf(key);
  }

  override async get(key: string, ref?: string): Promise<FakeObj | undefined> {
    this.reads.push([key, ref]);
    const o = await super.get(key);
    return this.readable(key, ref) ? o : undefined;
  }

  childKeysOf(parent: FakeObj): NamedKey[] {
    return (parent.children ?? []).map((k) => (this.store.has(k) ? k : { key: k, ref: nameOf(k) }));
  }
}

async function started(): Promise<Harness & { fake: NamedProvider }> {
  const fake = new NamedProvider();
  const h = harness({}, fake);
  fake.put('p', 'p1');
  h.watch.start();
  await h.clock.settle();
  fake.feed = 'manual';
  fake.reads.length = 0;
  h.clear();
  return { ...h, fake };
}

describe('keys that travel with their provider name', () => {
  it('a hinted key the store does not hold is read with the hint’s name', async () => {
    const h = await started();
    h.fake.put('n1', 'n1-1');
    h.fake.push({ type: 'changed', key: 'n1', ref: nameOf('n1'), cursor: '5' });
    await h.clock.settle();
    expect(h.fake.reads).toEqual([['n1', nameOf('n1')]]);
    expect(summary(h.events)).toEqual(['ADDED n1 n1-1', 'BOOKMARK 5']);
  });

  it('without the name the same key cannot be read (the fake keeps no names)', async () => {
    const h = await started();
    h.fake.put('n2', 'n2-1');
    h.fake.push({ type: 'changed', key: 'n2', cursor: '5' });
    await h.clock.settle();
    expect(h.fake.reads).toEqual([['n2', undefined]]);
    expect(summary(h.events)).toEqual(['BOOKMARK 5']);
  });

  it('a new child a parent names is read with the name the parent gave', async () => {
    const h = await started();
    h.fake.put('c1', 'c1-1').owner = 'p';
    const parent = h.fake.objects.get('p');
    if (parent) parent.children = ['c1'];
    h.fake.push({ type: 'family', key: 'p', index: 'owner', ref: nameOf('p') });
    await h.clock.settle();
    expect(h.fake.reads).toContainEqual(['c1', nameOf('c1')]);
    expect(summary(h.events)).toEqual(['ADDED c1 c1-1']);
    expect([...h.watch.store.byIndex('owner', 'p')]).toEqual(['c1']);
  });

  it('a new key a cheap poll shows is read with the name its token carries', async () => {
    const h = await started();
    const o = h.fake.put('n3', 'n3-1');
    h.fake.pollNames.set('n3', { token: String(o.version), ref: nameOf('n3') });
    await h.clock.advance(60_000);
    expect(h.fake.reads).toContainEqual(['n3', nameOf('n3')]);
    expect(summary(h.events)).toContain('ADDED n3 n3-1');
  });

  it('a read that failed is retried with the name it had', async () => {
    const h = await started();
    h.fake.put('n4', 'n4-1');
    h.fake.failures.get.push(new Error('transient'));
    h.fake.push({ type: 'changed', key: 'n4', ref: nameOf('n4') });
    await h.clock.advance(10_000); // past the retry backoff
    expect(summary(h.events)).toEqual(['ADDED n4 n4-1']);
    expect(h.fake.reads.filter(([k]) => k === 'n4')).toEqual([
      ['n4', nameOf('n4')],
      ['n4', nameOf('n4')],
    ]);
  });
});
