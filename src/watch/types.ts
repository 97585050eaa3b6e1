/**
 * The public shape of a running watch and its options (see index.ts for the entry points).
 */
import type { Observable, SchedulerLike } from 'rxjs';
import type { Logger } from '../runtime/logger.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import type { BackoffOptions } from '../runtime/backoff.js';
import type { WatchCheckpoint, WatchEvent } from './events.js';
import type { WatchStore } from './store.js';

export interface Watch<T> {
  /** Hot; each event is emitted after it was handed to `deliver` (if any) and that resolved. */
  readonly events$: Observable<WatchEvent<T>>;
  /** The engine's current objects (may run ahead of a slow consumer). */
  readonly store: WatchStore<T>;
  /** True once the first list completed and was diffed (for /readyz). */
  readonly synced: boolean;
  readonly synced$: Observable<boolean>;
  /**
   * The permission the provider says we lack while the source's list is refused for it (the
   * source is "denied": its store is kept, the list retried every `deniedRetryMs`); undefined
   * otherwise, and again once a list succeeds.
   */
  readonly denied: string | undefined;
  /** Replays the current value; emits on every change (not on each retry). Completes on stop. */
  readonly denied$: Observable<string | undefined>;
  start(): void;
  /** Unsubscribes hints, clears timers, resolves after the in-flight delivery. Idempotent. */
  stop(): Promise<void>;
}

export interface WatchOptions<T> {
  /** Default asyncScheduler; tests pass a VirtualTimeScheduler. */
  scheduler?: SchedulerLike;
  /** Default 10 h, jittered by a factor in [0.9, 1.1). */
  resyncPeriodMs?: number;
  /**
   * While the list is refused for a missing permission (see `deniedPermission`), it is retried
   * this often rather than with the short backoff: a permission comes back when a human grants
   * it, and each attempt logs one warning. Default DEFAULT_DENIED_RETRY_MS (5 min).
   */
  deniedRetryMs?: number;
  /** Relist when no hint, bookmark or cheap-poll success arrived for this long. Default: off. */
  watchdogTimeoutMs?: number;
  /** State restored from a previous run: start from it, relist, emit only differences (cause 'restart'). */
  initial?: WatchCheckpoint<T>;
  /** Sequential consumer; while it is busy, pending changes coalesce per key. */
  deliver?: (event: WatchEvent<T>) => void | Promise<void>;
  metrics?: CoreMetrics;
  logger?: Logger;
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  /**
   * Applied to every object before the store keeps it (e.g. interning its strings and sharing its
   * repeated parts); returns the object to keep and emit, equal in content to the one given.
   * `key`, given for an object stored under a new key, is the key string the store keeps:
   * text the object repeats from it can be kept as a slice of it. Default: the object as given.
   */
  retain?: (obj: T, key?: string) => T;
}

export const DEFAULT_RESYNC_PERIOD_MS = 10 * 60 * 60 * 1000;
/** How often a denied source's list is retried (5 minutes): a granted permission shows within it. */
export const DEFAULT_DENIED_RETRY_MS = 5 * 60 * 1000;
