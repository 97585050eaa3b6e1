import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CheckpointTracker, createWatch } from '../../src/watch/index.js';
import type { Watch } from '../../src/watch/index.js';
import type { WatchCheckpoint, WatchEvent } from '../../src/watch/events.js';
import type { Hint } from '../../src/watch/source.js';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import { VirtualClock } from './virtual-clock.js';

const KEYS = ['a', 'b', 'c'];

type Command =
  | { op: 'put'; key: string; data: number }
  | { op: 'remove'; key: string }
  | { op: 'hints'; count: number; reverse: boolean; drop: boolean[]; dup: boolean; withState: boolean }
  | { op: 'stale'; key: string; back: number }
  | { op: 'gap' }
  | { op: 'restart' }
  | { op: 'advance'; ms: number }
  | { op: 'fail'; what: 'list' | 'get' };

const key = fc.constantFrom(...KEYS);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant('put' as const), key, data: fc.integer({ min: 0, max: 3 }) }),
    weight: 6,
  },
  { arbitrary: fc.record({ op: fc.constant('remove' as const), key }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant('hints' as const),
      count: fc.integer({ min: 0, max: 6 }),
      reverse: fc.boolean(),
      drop: fc.array(fc.boolean(), { maxLength: 6 }),
      dup: fc.boolean(),
      withState: fc.boolean(),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ op: fc.constant('stale' as const), key, back: fc.integer({ min: 1, max: 3 }) }),
    weight: 3,
  },
  { arbitrary: fc.constant({ op: 'gap' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'restart' as const }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 5_000 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('fail' as const),
      what: fc.constantFrom('list' as const, 'get' as const),
    }),
    weight: 1,
  },
);

function isObjectEvent(e: WatchEvent<FakeObj>): e is Extract<WatchEvent<FakeObj>, { key: string }> {
  return e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED';
}

async function scenario(commands: Command[], slowConsumer: boolean): Promise<void> {
  const clock = new VirtualClock();
  const fake = new FakeProvider();
  fake.feed = 'manual';
  fake.hintWithState = true;
  fake.pageSize = 2;
  const history = new Map<string, FakeObj[]>();
  const delivered = new Map<string, FakeObj>();
  const lastVersion = new Map<string, number>();
  let deliveredCursor: string | undefined;
  let events: WatchEvent<FakeObj>[] = [];
  let held: Hint<FakeObj>[] = [];
  let logPointer = 0;
  const regressions: string[] = [];

  const tracker = new CheckpointTracker(fake);
  const onEvent = (e: WatchEvent<FakeObj>): void => {
    events.push(e);
    tracker.apply(e);
    if (e.type === 'BOOKMARK') deliveredCursor = e.cursor;
    if (e.type === 'RELIST' && e.phase === 'done' && e.cursor !== undefined) deliveredCursor = e.cursor;
    if (!isObjectEvent(e)) return;
    if (e.type === 'DELETED') {
      delivered.delete(e.key);
      return;
    }
    // never an older (or the same) state after a newer one, for a key, across restarts
    const prev = lastVersion.get(e.key) ?? 0;
    if (e.object.version <= prev) regressions.push(`${e.key}: v${e.object.version} after v${prev}`);
    lastVersion.set(e.key, e.object.version);
    delivered.set(e.key, e.object);
  };

  const open = (initial?: WatchCheckpoint<FakeObj>): Watch<FakeObj> => {
    const w = createWatch(fake, {
      scheduler: clock.scheduler,
      random: () => 0.5,
      watchdogTimeoutMs: 60_000,
      ...(initial ? { initial } : {}),
      ...(slowConsumer ? { deliver: () => new Promise<void>((resolve) => setImmediate(resolve)) } : {}),
    });
    w.events$.subscribe(onEvent);
    w.start();
    return w;
  };

  let w = open();
  await clock.settle();

  for (const c of commands) {
    switch (c.op) {
      case 'put': {
        const o = fake.put(c.key, `d${c.data}`);
        history.set(c.key, [...(history.get(c.key) ?? []), { ...o }]);
        break;
      }
      case 'remove':
        fake.remove(c.key);
        break;
      case 'hints': {
        held.push(...fake.log.slice(logPointer).map((l) => l.hint));
        logPointer = fake.log.length;
        const batch = held.splice(0, c.count); // the rest stays delayed
        if (c.reverse) batch.reverse();
        batch.forEach((h, i) => {
          if (c.drop[i] === true) return;
          let hint = h;
          if (h.type === 'changed' && !c.withState) hint = { type: 'changed', key: h.key };
          fake.push(hint);
          if (c.dup) fake.push(hint);
        });
        break;
      }
      case 'stale': {
        const states = history.get(c.key) ?? [];
        const old = states[states.length - 1 - c.back];
        if (old) fake.push({ type: 'changed', key: c.key, state: { ...old } });
        break;
      }
      case 'gap':
        fake.push({ type: 'gap', reason: 'property' });
        break;
      case 'restart': {
        await w.stop();
        held = []; // in-flight hints die with the old stream
        const checkpoint = tracker.snapshot();
        expect(checkpoint.cursor).toBe(deliveredCursor);
        expect(new Set([...checkpoint.objects].map((o) => o.key))).toEqual(new Set(delivered.keys()));
        w = open(checkpoint);
        break;
      }
      case 'advance':
        await clock.advance(c.ms);
        break;
      case 'fail':
        fake.failures[c.what].push(new Error(`injected ${c.what} failure`));
        break;
    }
    await clock.settle();
    expect(regressions).toEqual([]);
  }

  // Converge: no more chaos (held and unsent hints are dropped); the next relist (gap, or the
  // watchdog if the gap found no stream) fixes everything.
  fake.failures.list.length = 0;
  fake.failures.get.length = 0;
  await clock.advance(61_000);
  fake.push({ type: 'gap', reason: 'final' });
  await clock.advance(200_000);
  for (let i = 0; i < 50; i++) await clock.settle();

  const truth = new Map([...fake.objects].map(([k, o]) => [k, fake.hashOf(o)]));
  const storeView = new Map([...w.store.keys()].map((k) => [k, fake.hashOf(w.store.get(k) as FakeObj)]));
  expect(regressions).toEqual([]);
  expect(storeView).toEqual(truth);
  const consumerView = new Map([...delivered].map(([k, o]) => [k, fake.hashOf(o)]));
  expect(consumerView).toEqual(truth);

  // A relist of an unchanged world emits no object events.
  expect(fake.subscribers.size).toBe(1);
  events = [];
  fake.push({ type: 'gap', reason: 'unchanged' });
  await clock.advance(1_000);
  for (let i = 0; i < 20; i++) await clock.settle();
  expect(events.filter(isObjectEvent)).toEqual([]);
  expect(events.some((e) => e.type === 'RELIST' && e.phase === 'done')).toBe(true);
  await w.stop();
  expect(fake.subscribers.size).toBe(0);
  expect(clock.pendingActions).toBe(0);
}

describe('watch engine under chaos (property)', () => {
  it('converges to the provider truth, never regresses a key, and relists an unchanged world silently', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 5, maxLength: 40 }),
        fc.boolean(),
        async (commands, slow) => {
          await scenario(commands, slow);
        },
      ),
      { numRuns: 300 },
    );
  });
});
