/**
 * The watch engine's public entry points. `createWatch` gives a controllable Watch (hot events$,
 * store, synced flag, start/stop); `watch` gives a cold Observable of its events (subscribe starts
 * a new watch, unsubscribe stops it).
 */
import { Observable } from 'rxjs';
import { createWatch } from './engine.js';
import type { WatchEvent } from './events.js';
import type { WatchSource } from './source.js';
import type { WatchOptions } from './types.js';

export { createWatch, WatchEngine } from './engine.js';
export type { Watch, WatchOptions } from './types.js';
export { DEFAULT_DENIED_RETRY_MS, DEFAULT_RESYNC_PERIOD_MS } from './types.js';
export type { Indexers, WatchStore } from './store.js';
export type { WatchEvent, WatchCheckpoint, CheckpointObject, RelistCause } from './events.js';
export type { WatchSource, Hint, ListPage, CheapPoll, NamedKey, PollToken } from './source.js';
export {
  PermissionDeniedError,
  ThrottledError,
  deniedPermission,
  isThrottling,
  keyOfNamed,
  tokenOf,
} from './source.js';
export { Backoff, CLIENT_GO_BACKOFF } from '../runtime/backoff.js';
export type { BackoffOptions } from '../runtime/backoff.js';
export { ApiBudget } from './budget.js';
export type { BucketLimit } from './budget.js';
export { stretchedIntervalMs } from './rate.js';
export { CheckpointTracker } from './checkpoint.js';

export function watch<T>(source: WatchSource<T>, options?: WatchOptions<T>): Observable<WatchEvent<T>> {
  return new Observable<WatchEvent<T>>((subscriber) => {
    const w = createWatch(source, options);
    const sub = w.events$.subscribe(subscriber);
    w.start();
    return () => {
      sub.unsubscribe();
      void w.stop();
    };
  });
}
