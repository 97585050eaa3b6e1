/**
 * Keys the change feed (or a cheap poll) marked as possibly changed, waiting to be reconciled:
 * at most one entry per key. An entry either carries a candidate state from the hint (applied
 * without a provider call) or needs a fetch; once a key needs a fetch it keeps needing one until
 * taken (a fetch reads the truth, so a later hint's state cannot make it skip a pending delete).
 * A family hint makes the entry need a fetch and names the indexes whose children are read with it.
 */

export interface DirtyEntry<T> {
  state: T | undefined;
  needsFetch: boolean;
  cursor: string | undefined;
  /** Indexes whose children under this key are read with it (family hints); undefined: none. */
  families: Set<string> | undefined;
}

export class DirtySet<T> {
  private map = new Map<string, DirtyEntry<T>>();

  /** `isNewer(a, b)`: true unless `a` is provably older than `b`. */
  constructor(private readonly notOlder: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.map.size;
  }

  changed(key: string, state: T | undefined, cursor: string | undefined): void {
    const e = this.map.get(key);
    if (!e) {
      this.map.set(key, { state, needsFetch: state === undefined, cursor, families: undefined });
      return;
    }
    if (cursor !== undefined) e.cursor = cursor;
    if (e.needsFetch) return;
    if (state === undefined) {
      e.needsFetch = true;
      e.state = undefined;
    } else if (e.state === undefined || this.notOlder(state, e.state)) {
      e.state = state;
    }
  }

  /** A delete hint or a poll difference: must be confirmed by reading the provider. */
  needsFetch(key: string, cursor: string | undefined): void {
    const e = this.map.get(key);
    if (!e) {
      this.map.set(key, { state: undefined, needsFetch: true, cursor, families: undefined });
      return;
    }
    e.needsFetch = true;
    e.state = undefined;
    if (cursor !== undefined) e.cursor = cursor;
  }

  /** A family hint: the key must be read, and its children under `index` with it. */
  family(key: string, index: string, cursor: string | undefined): void {
    this.needsFetch(key, cursor);
    const e = this.map.get(key);
    if (e === undefined) return;
    if (e.families === undefined) e.families = new Set([index]);
    else e.families.add(index);
  }

  /** Puts back a taken entry whose reads failed, merged with whatever arrived for its key since. */
  restore(key: string, taken: DirtyEntry<T>): void {
    if (taken.families === undefined) {
      this.needsFetch(key, taken.cursor);
      return;
    }
    for (const index of taken.families) this.family(key, index, taken.cursor);
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
