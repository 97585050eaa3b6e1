/**
 * What a Cloud Run kind source reads its project's changes from: the audit tail (AuditFeed) or the
 * Pub/Sub feed with its tail fallback (PushedProjectFeed). Items are the tail's (`FeedItem`): mapped
 * entries, gaps, and `caughtUp` bookmarks whose cursor the source hands back to `durable` once the
 * console holds what came before it.
 */
import { defer, distinctUntilChanged, map, skip, startWith } from 'rxjs';
import type { Observable } from 'rxjs';
import type { AuditMapping } from './audit-mapper.js';
import type { FeedItem } from './audit-source.js';

export interface ProjectFeed {
  /** Whether a live detector (a confirmed tail, or the Pub/Sub feed) runs now: cheap polls slow down. */
  readonly live: boolean;
  /** Emits `live` each time it changes (not its value at subscription). */
  readonly liveChanges$: Observable<boolean>;
  /** A cursor at `ms` (a list's start). */
  cursorAt(ms: number): string;
  /** The items after `fromCursor` (undefined: now) that `accepts` takes, for the source `subscriberId`. */
  items(
    fromCursor: string | undefined,
    accepts: ((m: AuditMapping) => boolean) | undefined,
    subscriberId: string,
  ): Observable<FeedItem>;
  /** The console holds everything the source `subscriberId` got up to the bookmark `cursor`. */
  durable?(subscriberId: string, cursor: string): void;
}

/**
 * The values of `value()` each time it differs from the one before, read whenever `pokes$` emits
 * (the value at subscription is the first "before", never emitted itself).
 */
export function changesOf<V>(pokes$: Observable<unknown>, value: () => V): Observable<V> {
  return defer(() =>
    pokes$.pipe(
      map(() => value()),
      startWith(value()),
      distinctUntilChanged(),
      skip(1),
    ),
  );
}
