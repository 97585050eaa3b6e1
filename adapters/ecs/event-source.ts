/**
 * The pushed change feed of one ECS (account, region): the queue of EventBridge events
 * (adapters/aws/sqs-feed.ts, mapped by event-mapping.ts) joined with the region's CloudTrail feed,
 * which keeps what events do not carry (tag changes, user API calls on clusters and services);
 * every ECS source of the region reads this one feed, as it reads the CloudTrail feed alone in
 * poll mode.
 *
 * Promise: items of both feeds in the order each delivers them; a bookmark of either becomes a
 * bookmark whose cursor holds the last position of both, so `durable(cursor)` deletes the queue's
 * messages that cursor covers and a resubscription resumes CloudTrail where it was. An unreadable
 * cursor gives a gap (the engine relists) and a start from now. Either feed ending or failing ends
 * or fails the stream (the engine resubscribes).
 */
import { Observable, Subscription } from 'rxjs';
import type { AuditItem } from '../aws/cloudtrail-feed.js';
import type { SqsFeed } from '../aws/sqs-feed.js';
import { PageTokenCodec, PageTokenError } from '../../src/provider/page-token.js';
import type { AuditFeed } from './audit-source.js';
import type { EcsRef } from './event-mapping.js';

interface PushedCursor {
  /** The CloudTrail cursor (absent with CloudTrail off). */
  c?: string;
  /** The queue cursor. */
  q: string;
}

const pushedCursors = new PageTokenCodec<PushedCursor>('ecs-pushed-cursor', (v) => {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as { c?: unknown; q?: unknown };
  if (typeof o.q !== 'string' || (o.c !== undefined && typeof o.c !== 'string')) return undefined;
  return o.c !== undefined ? { c: o.c, q: o.q } : { q: o.q };
});

/** What the ECS sources read: CloudTrail alone (poll mode) or this pushed feed. */
export interface EcsFeed {
  cursorNow(): string;
  items(fromCursor: string | undefined, consumer: string): Observable<AuditItem<EcsRef>>;
  /** The consumer's events up to `cursor` are durable. */
  durable?(cursor: string, consumer: string): void;
}

export class PushedEcsFeed implements EcsFeed {
  constructor(
    readonly queue: SqsFeed<EcsRef>,
    private readonly trail: AuditFeed | undefined,
  ) {}

  cursorNow(): string {
    const c = this.trail?.cursorNow();
    return pushedCursors.encode(
      c !== undefined ? { c, q: this.queue.cursorNow() } : { q: this.queue.cursorNow() },
    );
  }

  items(fromCursor: string | undefined, consumer: string): Observable<AuditItem<EcsRef>> {
    return new Observable<AuditItem<EcsRef>>((sub) => {
      let from: PushedCursor | undefined;
      if (fromCursor !== undefined) {
        try {
          from = pushedCursors.decode(fromCursor);
        } catch (err) {
          if (!(err instanceof PageTokenError)) throw err;
          sub.next({ type: 'gap', reason: err.message });
        }
      }
      let lastC = from?.c ?? this.trail?.cursorNow();
      let lastQ = from?.q ?? this.queue.cursorNow();
      const bookmark = (): void => {
        const cursor = lastC !== undefined ? { c: lastC, q: lastQ } : { q: lastQ };
        sub.next({ type: 'bookmark', cursor: pushedCursors.encode(cursor) });
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
    let c: PushedCursor;
    try {
      c = pushedCursors.decode(cursor);
    } catch {
      return;
    }
    this.queue.durable(c.q, consumer);
  }
}
