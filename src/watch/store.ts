/**
 * The watch engine's current view of a source: key -> last known state, its content hash and its
 * provider order, plus named indexes over it (client-go's Indexer: an index function files an object
 * under zero or more values, e.g. its owner's key or its cluster). Read-only to callers
 * (`WatchStore`); only the engine writes (`MapWatchStore`), and every write keeps the indexes exact.
 * The store may run ahead of delivery: it holds what the engine knows, not what a slow consumer
 * has acknowledged.
 *
 * Failure: an index function that throws is a programming error; it propagates to the engine,
 * which backs off and relists (the store is left without the half-made write).
 */

/** Index name -> the values an object is filed under (none: not indexed). */
export type Indexers<T> = Readonly<Record<string, (obj: T) => readonly string[]>>;

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
  /** Keys of the objects filed under `value` in the index `index` (empty for an unknown index). */
  byIndex(index: string, value: string): ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set<string>();

/** A store with nothing in it (what a source reads before the engine attaches its own). */
export function emptyWatchStore<T>(): WatchStore<T> {
  return new MapWatchStore<T>();
}

export class MapWatchStore<T> implements WatchStore<T> {
  readonly entries = new Map<string, StoreEntry<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  /** The index functions with their index, listed once (a write allocates no list of them). */
  private readonly indexList: Array<{ fn: (obj: T) => readonly string[]; index: Map<string, Set<string>> }> =
    [];

  constructor(indexers: Indexers<T> = {}) {
    for (const [name, fn] of Object.entries(indexers)) {
      const index = new Map<string, Set<string>>();
      this.indices.set(name, index);
      this.indexList.push({ fn, index });
    }
  }

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

  /** A store holding `objects` under their keys (tests and tools; the engine fills its own). */
  static of<T>(objects: Iterable<[string, T]>, indexers: Indexers<T> = {}): MapWatchStore<T> {
    const store = new MapWatchStore<T>(indexers);
    for (const [key, object] of objects) store.set(key, { object, hash: '', order: undefined, seen: 0 });
    return store;
  }

  byIndex(index: string, value: string): ReadonlySet<string> {
    return this.indices.get(index)?.get(value) ?? NONE;
  }

  set(key: string, entry: StoreEntry<T>): void {
    const old = this.entries.get(key);
    if (old !== undefined) this.unindex(key, old.object);
    this.add(key, entry);
  }

  /** Stores an entry under a key the store does not hold (the caller just found it absent). */
  add(key: string, entry: StoreEntry<T>): void {
    if (this.indexList.length > 0) this.index(key, entry.object);
    this.entries.set(key, entry);
  }

  /** Replaces the object of an existing entry in place (hash and order are the caller's). */
  replaceObject(key: string, entry: StoreEntry<T>, object: T): void {
    this.unindex(key, entry.object);
    this.index(key, object);
    entry.object = object;
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.unindex(key, old.object);
    this.entries.delete(key);
  }

  private index(key: string, object: T): void {
    for (const { fn, index } of this.indexList) {
      const values = fn(object);
      if (values.length === 0) continue;
      for (const v of values) {
        let keys = index.get(v);
        if (keys === undefined) index.set(v, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  private unindex(key: string, object: T): void {
    for (const { fn, index } of this.indexList) {
      const values = fn(object);
      if (values.length === 0) continue;
      for (const v of values) {
        const keys = index.get(v);
        if (keys === undefined) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(v);
      }
    }
  }
}

/** True when `candidate` is provably older than `current` (both orders known). */
export function isOlder(candidate: number | undefined, current: number | undefined): boolean {
  return candidate !== undefined && current !== undefined && candidate < current;
}
