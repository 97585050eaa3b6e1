/**
 * What the watch engine emits (Kubernetes watch semantics, see docs/reference/watch-semantics.md) and what it
 * restores from on start-up.
 */

export type RelistCause = 'initial' | 'restart' | 'gap' | 'watchdog' | 'periodic' | 'error';

export type WatchEvent<T> =
  /**
   * `hash` and `order` are what the engine computed for `object` (`hashOf`, `orderOf`); the engine
   * always sets `hash` (and `order` when known), so a consumer need not compute them again.
   */
  | {
      type: 'ADDED' | 'MODIFIED';
      sourceId: string;
      key: string;
      object: T;
      hash?: string;
      order?: number;
      cursor?: string;
    }
  /**
   * `object` is the last known state. `tombstone` is true when the deletion was found by a relist
   * diff (DeletedFinalStateUnknown) rather than seen in the change feed.
   */
  | { type: 'DELETED'; sourceId: string; key: string; object: T; tombstone: boolean; cursor?: string }
  /** Nothing changed up to `cursor`: persist it so a restart resumes there without replay. */
  | { type: 'BOOKMARK'; sourceId: string; cursor: string }
  /** A relist started (`phase: 'start'`) or finished and was diffed (`phase: 'done'`). */
  | { type: 'RELIST'; sourceId: string; cause: RelistCause; phase: 'start' | 'done'; cursor?: string };

export interface CheckpointObject<T> {
  key: string;
  hash: string;
  order?: number;
  object: T;
}

/**
 * The state a previous run persisted for one source: its objects and cursor. The engine starts from
 * it, relists, and emits only the differences (no replay of unchanged objects; deletions that
 * happened while stopped become tombstones).
 */
export interface WatchCheckpoint<T> {
  cursor?: string;
  objects: Iterable<CheckpointObject<T>>;
}
