/**
 * The base of a provider change feed (an audit log, an event stream) shared by several watch
 * sources: one upstream per scope (`SharedFeeds`), fanned out to every subscriber's `hints()`.
 *
 * Contract of `ChangeFeed.subscribe(fromCursor, accepts?)`:
 * - the subclass's `join` turns the cursor into the subscriber's own state (its position, dedupe
 *   memory); an unreadable cursor (`PageTokenError`) gives that subscriber a gap item and a start
 *   from now (the page-token failure rule: the engine relists), reported once per feed; a cursor
 *   the upstream cannot serve any more (`CursorExpiredError`) gives a gap item and completes;
 * - the first subscriber starts the upstream (`session`), the last one leaving stops it: its
 *   `Timers` are cancelled, so its sleeps end at once and nothing stays scheduled;
 * - items reach a subscriber only when its `accepts` filter takes them, in upstream order;
 * - a session that ends, or throws an error `isRetryable` accepts (default: throttling), is opened
 *   again after the runtime `Backoff`; the backoff starts over once a session stayed up for
 *   `healthyResetMs` (2 minutes). A feed whose sessions cannot resume from the position it keeps
 *   (`resumable: false`) sends every subscriber a gap item on each reconnect;
 * - any other error errors every subscriber's stream (the engine resubscribes from its last
 *   bookmark) and stops the upstream until the next subscriber;
 * - `close()` completes every subscriber and stops the upstream for good. Never throws.
 * Time comes from the injected scheduler only.
 */
import { Observable } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { Backoff } from '../runtime/backoff.js';
import type { BackoffOptions } from '../runtime/backoff.js';
import type { Logger } from '../runtime/logger.js';
import { Timers } from '../runtime/timers.js';
import { isThrottling } from '../watch/source.js';
import { PageTokenError, TokenRestarts } from './page-token.js';

/** A session that stayed up this long resets the reconnect backoff. */
const FEED_HEALTHY_RESET_MS = 120_000;

/** The cursor is older than what the upstream still holds (e.g. CloudTrail's 90 days). */
export class CursorExpiredError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CursorExpiredError';
  }
}

export interface ChangeFeedDeps {
  scheduler: SchedulerLike;
  logger: Pick<Logger, 'warn' | 'debug' | 'info'>;
  /** The backoff's jitter source (tests pin it). */
  random?: () => number;
}

export interface ChangeFeedOptions<I> {
  /** Names the feed in logs (e.g. `cloudtrail/123456789012/us-east-1`). */
  readonly name: string;
  /** Whether a new session continues from the position the feed keeps (no gap on reconnect). */
  readonly resumable: boolean;
  /** The item that tells a subscriber the feed cannot prove it delivered everything. */
  gapItem(reason: string): I;
  /** Reconnect backoff options (the runtime backoff's defaults otherwise). */
  readonly backoff?: Partial<BackoffOptions>;
  readonly healthyResetMs?: number;
}

/** One subscriber of a feed: its state and its delivery. */
export interface FeedSubscriber<I, S> {
  readonly state: S;
  /** Delivers `item` when the subscriber's filter accepts it. */
  next(item: I): void;
}

interface Member<I, S> extends FeedSubscriber<I, S> {
  error(err: unknown): void;
  complete(): void;
}

export abstract class ChangeFeed<I, S> {
  private readonly members = new Set<Member<I, S>>();
  private readonly backoff: Backoff;
  private readonly restarts: TokenRestarts;
  private timers: Timers | undefined;
  private running = false;
  private closed = false;

  constructor(
    protected readonly feedDeps: ChangeFeedDeps,
    private readonly feedOptions: ChangeFeedOptions<I>,
  ) {
    this.backoff = new Backoff(feedOptions.backoff ?? {}, feedDeps.scheduler, feedDeps.random);
    this.restarts = new TokenRestarts(feedDeps.logger, feedOptions.name);
  }

  /** The subscriber state for a start at `fromCursor` (undefined: now). May throw PageTokenError or CursorExpiredError. */
  protected abstract join(fromCursor: string | undefined): S;

  /** Called after a subscriber joined, before the upstream is (re)started. */
  protected joined(_subscriber: FeedSubscriber<I, S>): void {}

  /**
   * One upstream session: reads and delivers until the upstream ends (resolve) or fails (throw).
   * Sleeps go through `timers`, which are cancelled when the feed stops; a session must return
   * once `timers.isCancelled`.
   */
  protected abstract session(timers: Timers): Promise<void>;

  /** Called when the upstream stops after an error that is not retryable. */
  protected stopped(): void {}

  /**
   * Called when the upstream is being stopped (the last subscriber left, or `close`), after its
   * `Timers` were cancelled: a session that waits on something else (an open stream) ends it here.
   */
  protected cancelled(): void {}

  /** Errors after which the session is opened again (default: throttling). */
  protected isRetryable(err: unknown): boolean {
    return isThrottling(err);
  }

  protected get now(): number {
    return this.feedDeps.scheduler.now();
  }

  /** The current subscribers (a copy: delivery may remove some). */
  protected subscribers(): FeedSubscriber<I, S>[] {
    return [...this.members];
  }

  protected get subscriberCount(): number {
    return this.members.size;
  }

  /** Delivers `item` to every subscriber that accepts it. */
  protected broadcast(item: I): void {
    for (const m of [...this.members]) m.next(item);
  }

  subscribe(fromCursor: string | undefined, accepts: (item: I) => boolean = () => true): Observable<I> {
    return new Observable<I>((sub) => {
      if (this.closed) {
        sub.complete();
        return undefined;
      }
      let state: S;
      try {
        state = this.join(fromCursor);
      } catch (err) {
        if (err instanceof CursorExpiredError) {
          sub.next(this.feedOptions.gapItem(err.message));
          sub.complete();
          return undefined;
        }
        if (!(err instanceof PageTokenError)) {
          sub.error(err);
          return undefined;
        }
        this.restarts.report(err);
        sub.next(this.feedOptions.gapItem(err.message));
        state = this.join(undefined);
      }
      const member: Member<I, S> = {
        state,
        next: (item) => {
          if (accepts(item)) sub.next(item);
        },
        error: (err) => sub.error(err),
        complete: () => sub.complete(),
      };
      this.members.add(member);
      this.joined(member);
      this.ensureRunning();
      return () => {
        this.members.delete(member);
        if (this.members.size === 0) this.cancelUpstream();
      };
    });
  }

  /** Completes every subscriber and stops the upstream. Idempotent. */
  close(): void {
    this.closed = true;
    for (const m of [...this.members]) {
      this.members.delete(m);
      m.complete();
    }
    this.cancelUpstream();
  }

  private cancelUpstream(): void {
    if (this.timers === undefined) return;
    this.timers.cancelAll();
    this.cancelled();
  }

  private ensureRunning(): void {
    if (this.running || this.closed) return;
    this.running = true;
    const timers = new Timers(this.feedDeps.scheduler);
    this.timers = timers;
    void this.run(timers).finally(() => {
      this.running = false;
      if (this.timers === timers) this.timers = undefined;
      if (this.members.size > 0) this.ensureRunning();
    });
  }

  private async run(timers: Timers): Promise<void> {
    const healthyResetMs = this.feedOptions.healthyResetMs ?? FEED_HEALTHY_RESET_MS;
    let first = true;
    while (this.members.size > 0 && !timers.isCancelled) {
      if (!first && !this.feedOptions.resumable)
        this.broadcast(this.feedOptions.gapItem('change feed reconnected'));
      first = false;
      const startedMs = this.now;
      try {
        await this.session(timers);
      } catch (err) {
        if (timers.isCancelled) return;
        if (!this.isRetryable(err)) {
          this.feedDeps.logger.warn({ err, feed: this.feedOptions.name }, 'change feed failed');
          for (const m of [...this.members]) {
            this.members.delete(m);
            m.error(err);
          }
          this.stopped();
          return;
        }
      }
      if (timers.isCancelled || this.members.size === 0) return;
      if (this.now - startedMs >= healthyResetMs) this.backoff.reset();
      await timers.sleep(this.backoff.next());
    }
  }
}

/** One feed per scope (account and region, project), created on first use. */
export class SharedFeeds<F extends { close(): void }> {
  private readonly feeds = new Map<string, F>();

  constructor(private readonly create: (scope: string) => F) {}

  feedFor(scope: string): F {
    let feed = this.feeds.get(scope);
    if (feed === undefined) {
      feed = this.create(scope);
      this.feeds.set(scope, feed);
    }
    return feed;
  }

  close(): void {
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }
}
