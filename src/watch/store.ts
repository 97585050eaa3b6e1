/**
 * The watch engine's current view of a source: key -> last known state, its content hash and its
 * provider order. Read-only to callers (`WatchStore`); only the engine writes (`MapWatchStore`).
 * The store may run ahead of delivery: it holds what the engine knows, not what a slow consumer
 * has acknowledged.
 */

export interface StoreEntry<T> {
  object: T;
  hash: string;
  order: number | undefined;
  /** The engine's list generation that last saw this key (relist diff bookkeeping). */
  seen: number;
}

export interface WatchStore<T> {
  get(key: string): T | undefined;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<T>;
  readonly size: number;
}

export class MapWatchStore<T> implements WatchStore<T> {
  readonly entries = new Map<string, StoreEntry<T>>();

  get(key: string): T | undefined {
    return this.entries.get(key)?.object;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  *values(): IterableIterator<T> {
    for (const e of this.entries.values()) yield e.object;
  }

  get size(): number {
    return this.entries.size;
  }

  entry(key: string): StoreEntry<T> | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: StoreEntry<T>): void {
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** True when `candidate` is provably older than `current` (both orders known). */
export function isOlder(candidate: number | undefined, current: number | undefined): boolean {
  return candidate !== undefined && current !== undefined && candidate < current;
}
