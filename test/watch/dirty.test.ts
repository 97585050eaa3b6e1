import { describe, expect, it } from 'vitest';
import { DirtySet } from '../../src/watch/dirty.js';
import type { DirtyEntry } from '../../src/watch/dirty.js';

interface S {
  v: number | undefined;
}

/** As the engine builds it: a candidate is not older unless both orders are known and it is lower. */
function dirtySet(): DirtySet<S> {
  return new DirtySet<S>((c, p) => !(c.v !== undefined && p.v !== undefined && c.v < p.v));
}

type Op =
  | { changed: number | undefined | 'none'; cursor?: string }
  | { needsFetch: true; cursor?: string }
  | { family: string; cursor?: string };

function apply(d: DirtySet<S>, op: Op): void {
  if ('changed' in op) d.changed('k', op.changed === 'none' ? undefined : { v: op.changed }, op.cursor);
  else if ('needsFetch' in op) d.needsFetch('k', op.cursor);
  else d.family('k', op.family, op.cursor);
}

function pending(d: DirtySet<S>): Omit<DirtyEntry<S>, 'families'> & { families?: string[] } {
  const e = d.take().get('k');
  if (e === undefined) throw new Error('no entry');
  const out: Omit<DirtyEntry<S>, 'families'> & { families?: string[] } = {
    state: e.state,
    needsFetch: e.needsFetch,
    cursor: e.cursor,
  };
  if (e.families !== undefined) out.families = [...e.families].sort();
  return out;
}

describe('DirtySet: what one pending entry per key holds after a sequence of hints', () => {
  const table: Array<[string, Op[], ReturnType<typeof pending>]> = [
    ['a state alone', [{ changed: 1 }], { state: { v: 1 }, needsFetch: false, cursor: undefined }],
    [
      'a newer state replaces the pending one',
      [{ changed: 1 }, { changed: 2 }],
      { state: { v: 2 }, needsFetch: false, cursor: undefined },
    ],
    [
      'an equal order is not older: it replaces',
      [
        { changed: 2, cursor: 'a' },
        { changed: 2, cursor: 'b' },
      ],
      { state: { v: 2 }, needsFetch: false, cursor: 'b' },
    ],
    [
      'a provably older state is dropped, its cursor kept',
      [
        { changed: 3, cursor: 'a' },
        { changed: 2, cursor: 'b' },
      ],
      { state: { v: 3 }, needsFetch: false, cursor: 'b' },
    ],
    [
      'an unknown order is not provably older: it replaces',
      [{ changed: 3 }, { changed: undefined }],
      { state: { v: undefined }, needsFetch: false, cursor: undefined },
    ],
    [
      'a hint without state needs a fetch',
      [{ changed: 1 }, { changed: 'none' }],
      { state: undefined, needsFetch: true, cursor: undefined },
    ],
    [
      'once a fetch is needed a later state does not cancel it',
      [
        { needsFetch: true, cursor: 'a' },
        { changed: 5, cursor: 'b' },
      ],
      { state: undefined, needsFetch: true, cursor: 'b' },
    ],
    [
      'a delete after a state needs a fetch',
      [{ changed: 1 }, { needsFetch: true }],
      { state: undefined, needsFetch: true, cursor: undefined },
    ],
    [
      'family hints need a fetch and gather their indexes',
      [{ changed: 1 }, { family: 'owner', cursor: 'a' }, { family: 'cluster' }, { family: 'owner' }],
      { state: undefined, needsFetch: true, cursor: 'a', families: ['cluster', 'owner'] },
    ],
  ];
  it.each(table)('%s', (_name, ops, expected) => {
    const d = dirtySet();
    for (const op of ops) apply(d, op);
    expect(d.size).toBe(1);
    expect(pending(d)).toEqual(expected);
  });

  it('restore puts a taken entry back, merged with what arrived since', () => {
    const d = dirtySet();
    d.family('k', 'owner', 'a');
    const taken = d.take().get('k');
    if (taken === undefined) throw new Error('no entry');
    d.changed('k', { v: 9 }, 'b');
    d.restore('k', taken);
    expect(pending(d)).toEqual({ state: undefined, needsFetch: true, cursor: 'a', families: ['owner'] });
  });
});
