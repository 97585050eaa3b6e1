/**
 * Builds the WatchCheckpoint a consumer persists, from the events it has *delivered* (not from the
 * engine's store, which may run ahead of a slow consumer): ADDED/MODIFIED record the object with
 * its hash and order, DELETED forgets it, BOOKMARK and RELIST done record the cursor. Restarting
 * with `initial: tracker.snapshot()` relists and emits only what changed since.
 */
import type { CheckpointObject, WatchCheckpoint, WatchEvent } from './events.js';
import type { WatchSource } from './source.js';

export class CheckpointTracker<T> {
  private readonly objects = new Map<string, CheckpointObject<T>>();
  private cursor: string | undefined;

  constructor(private readonly source: Pick<WatchSource<T>, 'hashOf' | 'orderOf'>) {}

  /** Feed every delivered event here (e.g. `events$.subscribe(e => tracker.apply(e))`). */
  apply(event: WatchEvent<T>): void {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const entry: CheckpointObject<T> = {
          key: event.key,
          hash: event.hash ?? this.source.hashOf(event.object),
          object: event.object,
        };
        const order = event.order ?? this.source.orderOf(event.object);
        if (order !== undefined) entry.order = order;
        this.objects.set(event.key, entry);
        break;
      }
      case 'DELETED':
        this.objects.delete(event.key);
        break;
      case 'BOOKMARK':
        this.cursor = event.cursor;
        break;
      case 'RELIST':
        if (event.phase === 'done' && event.cursor !== undefined) this.cursor = event.cursor;
        break;
    }
  }

  get size(): number {
    return this.objects.size;
  }

  /** A copy of the current checkpoint (objects are shared, not cloned). */
  snapshot(): WatchCheckpoint<T> {
    const cp: WatchCheckpoint<T> = { objects: [...this.objects.values()] };
    if (this.cursor !== undefined) cp.cursor = this.cursor;
    return cp;
  }
}
