/**
 * What an AWS provider's sources read as their change feed: CloudTrail alone (`RegionFeed` is what
 * CloudTrailFeed already offers), or the pushed queue of EventBridge events (adapters/aws/sqs-feed.ts)
 * joined with the region's CloudTrail feed, which keeps what events do not carry. Every AWS provider's
 * pushed mode reads one (ECS: adapters/ecs/event-source.ts; Lambda).
 *
 * Promise: items of both feeds in the order each delivers them; a bookmark of either becomes a
 * bookmark whose cursor holds the last position of both, so `durable(cursor)` deletes the queue's
 * messages that cursor covers and a resubscription resumes CloudTrail where it was. An unreadable
 * cursor gives a gap (the engine relists) and a start from now. Either feed ending or failing ends
 * or fails the stream (the engine resubscribes).
 */
import { Observable, Subscription } from 'rxjs';
import { PageTokenCodec, PageTokenError } from '../../src/provider/page-token.js';
import type { AuditItem, CloudTrailFeed } from './cloudtrail-feed.js';
import type { SqsFeed } from './sqs-feed.js';

/** A region's change feed as the sources read it. */
export interface RegionFeed<R> {
  cursorNow(): string;
  items(fromCursor: string | undefined, consumer: string): Observable<AuditItem<R>>;
  /** The consumer's events up to `cursor` are durable. */
  durable?(cursor: string, consumer: string): void;
}

interface JoinedCursor {
  /** The CloudTrail cursor (absent with CloudTrail off). */
  c?: string;
  /** The queue cursor. */
  q: string;
}

function joinedCursorCodec(name: string): PageTokenCodec<JoinedCursor> {
  return new PageTokenCodec<JoinedCursor>(name, (v) => {
    if (v === null || typeof v !== 'object') return undefined;
    const o = v as { c?: unknown; q?: unknown };
    if (typeof o.q !== 'string' || (o.c !== undefined && typeof o.c !== 'string')) return undefined;
    return o.c !== undefined ? { c: o.c, q: o.q } : { q: o.q };
  });
}

export class JoinedFeed<R> implements RegionFeed<R> {
  private readonly joinedCursors: PageTokenCodec<JoinedCursor>;

  /** `cursorName` names the cursors in persisted checkpoints (a provider keeps its own across upgrades). */
  constructor(
    readonly queue: SqsFeed<R>,
    private readonly trail: CloudTrailFeed<R> | undefined,
    cursorName = 'aws-joined-cursor',
  ) {
    this.joinedCursors = joinedCursorCodec(cursorName);
  }

  cursorNow(): string {
    const c = this.trail?.cursorNow();
    const q = this.queue.cursorNow();
    return this.joinedCursors.encode(c !== undefined ? { c, q } : { q });
  }

  items(fromCursor: string | undefined, consumer: string): Observable<AuditItem<R>> {
    return new Observable<AuditItem<R>>((sub) => {
      let from: JoinedCursor | undefined;
      if (fromCursor !== undefined) {
        try {
          from = this.joinedCursors.decode(fromCursor);
        } catch (err) {
          if (!(err instanceof PageTokenError)) throw err;
          sub.next({ type: 'gap', reason: err.message });
        }
      }
      let lastC = from?.c ?? this.trail?.cursorNow();
      let lastQ = from?.q ?? this.queue.cursorNow();
      const bookmark = (): void => {
        const cursor = lastC !== undefined ? { c: lastC, q: lastQ } : { q: lastQ };
        sub.next({ type: 'bookmark', cursor: this.joinedCursors.encode(cursor) });
      };
      const subs = new Subscription();
      subs.add(
        this.queue.items(from?.q, consumer).subscribe({
          next: (item) => {
            if (item.type !== 'bookmark') return sub.next(item);
            lastQ = item.cursor;
            bookmark();
          },
          error: (err: unknown) => sub.error(err),
          complete: () => sub.complete(),
        }),
      );
      if (this.trail !== undefined) {
        subs.add(
          this.trail.items(from?.c).subscribe({
            next: (item) => {
              if (item.type !== 'bookmark') return sub.next(item);
              lastC = item.cursor;
              bookmark();
            },
            error: (err: unknown) => sub.error(err),
            complete: () => sub.complete(),
          }),
        );
      }
      return subs;
    });
  }

  durable(cursor: string, consumer: string): void {
    let c: JoinedCursor;
    try {
      c = this.joinedCursors.decode(cursor);
    } catch {
      return;
    }
    this.queue.durable(c.q, consumer);
  }
}
