/**
 * Keys the change feed (or a cheap poll) marked as possibly changed, waiting to be reconciled:
 * at most one entry per key. An entry either carries a candidate state from the hint (applied
 * without a provider call) or needs a fetch; once a key needs a fetch it keeps needing one until
 * taken (a fetch reads the truth, so a later hint's state cannot make it skip a pending delete).
 */

export interface DirtyEntry<T> {
  state: T | undefined;
  needsFetch: boolean;
  cursor: string | undefined;
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
      this.map.set(key, { state, needsFetch: state === undefined, cursor });
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
      this.map.set(key, { state: undefined, needsFetch: true, cursor });
      return;
    }
    e.needsFetch = true;
    e.state = undefined;
    if (cursor !== undefined) e.cursor = cursor;
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
