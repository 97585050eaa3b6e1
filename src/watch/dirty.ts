/**
 * Keys the change feed (or a cheap poll) marked as possibly changed, waiting to be reconciled:
 * at most one entry per key. An entry either carries a candidate state from the hint (applied
 * without a provider call) or needs a fetch; once a key needs a fetch it keeps needing one until
 * taken (a fetch reads the truth, so a later hint's state cannot make it skip a pending delete).
 * A family hint makes the entry need a fetch and names the indexes whose children are read with it.
 * An entry keeps the newest provider name (`ref`) given with its key, for the read.
 */

export interface DirtyEntry<T> {
  state: T | undefined;
  needsFetch: boolean;
  cursor: string | undefined;
  /** The provider name a hint or poll gave with the key (see NamedKey in source.ts). */
  ref?: string;
  /** Indexes whose children under this key are read with it (family hints); undefined: none. */
  families: Set<string> | undefined;
}

function withRef<T>(e: DirtyEntry<T>, ref: string | undefined): DirtyEntry<T> {
  if (ref !== undefined) e.ref = ref;
  return e;
}

export class DirtySet<T> {
  private map = new Map<string, DirtyEntry<T>>();

  /**
   * `notOlder(candidate, pending)`: false only when `candidate` is provably older than `pending`;
   * a hint's state replaces the pending one unless it is.
   */
  constructor(private readonly notOlder: (candidate: T, pending: T) => boolean) {}

  get size(): number {
    return this.map.size;
  }

  changed(key: string, state: T | undefined, cursor: string | undefined, ref?: string): void {
    const e = this.map.get(key);
    if (!e) {
      this.map.set(
        key,
        withRef({ state, needsFetch: state === undefined, cursor, families: undefined }, ref),
      );
      return;
    }
    if (cursor !== undefined) e.cursor = cursor;
    if (ref !== undefined) e.ref = ref;
    if (e.needsFetch) return;
    if (state === undefined) {
      e.needsFetch = true;
      e.state = undefined;
    } else if (e.state === undefined || this.notOlder(state, e.state)) {
      e.state = state;
    }
  }

  /** A delete hint or a poll difference: must be confirmed by reading the provider. */
  needsFetch(key: string, cursor: string | undefined, ref?: string): void {
    const e = this.map.get(key);
    if (!e) {
      this.map.set(key, withRef<T>({ state: undefined, needsFetch: true, cursor, families: undefined }, ref));
      return;
    }
    e.needsFetch = true;
    e.state = undefined;
    if (cursor !== undefined) e.cursor = cursor;
    if (ref !== undefined) e.ref = ref;
  }

  /** A family hint: the key must be read, and its children under `index` with it. */
  family(key: string, index: string, cursor: string | undefined, ref?: string): void {
    this.needsFetch(key, cursor, ref);
    const e = this.map.get(key);
    if (e === undefined) return;
    if (e.families === undefined) e.families = new Set([index]);
    else e.families.add(index);
  }

  /** Puts back a taken entry whose reads failed, merged with whatever arrived for its key since. */
  restore(key: string, taken: DirtyEntry<T>): void {
    if (taken.families === undefined) {
      this.needsFetch(key, taken.cursor, taken.ref);
      return;
    }
    for (const index of taken.families) this.family(key, index, taken.cursor, taken.ref);
  }

  /** Removes and returns everything pending. */
  take(): Map<string, DirtyEntry<T>> {
    const m = this.map;
    this.map = new Map();
    return m;
  }

  clear(): void {
    this.map.clear();
  }
}
