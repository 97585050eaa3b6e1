/**
 * The watch engine: turns a WatchSource into Kubernetes-informer-like events
 * (docs/reference/watch-semantics.md).
 *
 * Promises: list all pages, then follow `hints(cursor)` from the first page's cursor; every listed
 * object arrives once as ADDED; afterwards a change arrives as ADDED / MODIFIED / DELETED only when
 * the content hash changed; per key, an older state (by `orderOf`) never follows a newer one.
 * Relists (gap, hint stream end without a cursor, watchdog, jittered periodic resync, restart from a
 * checkpoint) diff against the store: vanished objects become DELETED tombstones, unchanged ones
 * emit nothing. A relist resets the cursor (no relist loops).
 *
 * Object events carry no cursor: one BOOKMARK with the newest hint cursor of a read round follows the
 * round's events once all were emitted, so a consumer that persists cursors (the console sink)
 * never holds one past a hinted change it has not received (a crash mid-round, a failed read).
 *
 * One serial worker does all provider reads (list, get/getMany, childKeysOf, cheap poll), so reads
 * for one key never race each other. Hints only mark keys dirty (one entry per key), and delivery
 * coalesces per key, so memory stays bounded by the number of objects however slow the consumer is.
 * A source's `hintSettleMs` holds the first dirty key that long before the worker reads, so the
 * several change entries one provider operation writes are read in one round.
 * The cheap poll runs every `cheapPoll.intervalMs`, read at each schedule; when the source announces
 * a change (`intervalChanges$`) an armed poll is brought forward to the new interval (never ahead
 * of a failed poll's backoff). A family hint is expanded by that worker: the parent is read, then in one round its children (the
 * keys `childKeysOf` names and the store's index holds); a child read as gone, and every indexed
 * child of a parent read as gone, becomes a DELETED tombstone.
 *
 * Failure: every provider error backs off (client-go constants) and retries; throttling backs off
 * without relisting; an unexpected internal error is logged, backed off and answered by a relist.
 * A list refused for a missing permission (`deniedPermission(err)`) makes the source "denied"
 * (`denied` / `denied$` name the permission, and the sightline_source_permission_denied gauge):
 * the store is kept as it is (a revoked permission does not mean the objects are gone: no
 * tombstones), no hints are followed, and the whole list is retried every `deniedRetryMs` with one
 * warning per attempt; the first list that succeeds clears the state and the source goes on as
 * after any relist (diff, hints, resync). The engine never stops on its own; `stop()` ends it.
 */
import { BehaviorSubject, Subject, asyncScheduler } from 'rxjs';
import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import type { Logger } from '../runtime/logger.js';
import { jittered } from '../runtime/clock.js';
import { Backoff } from '../runtime/backoff.js';
import { DeliveryQueue } from './delivery.js';
import { DirtySet } from './dirty.js';
import type { DirtyEntry } from './dirty.js';
import type { RelistCause, WatchEvent } from './events.js';
import { WatchMetrics } from './event-metrics.js';
import { PartialPoll, deniedPermission, isThrottling, tokenOf } from './source.js';
import type { Hint, PollToken, WatchSource } from './source.js';
import { MapWatchStore, isOlder } from './store.js';
import type { StoreEntry } from './store.js';
import { Timers } from '../runtime/timers.js';
import { DEFAULT_DENIED_RETRY_MS, DEFAULT_RESYNC_PERIOD_MS } from './types.js';
import type { Watch, WatchOptions } from './types.js';

const WATCHDOG = 'watchdog';
const RESYNC = 'resync';
const POLL = 'poll';
const HINTS = 'hints';
const DELETED_MEMORY = 10_000;

interface RelistStats {
  listed: number;
  added: number;
  modified: number;
  deleted: number;
  skipped: number;
}

export class WatchEngine<T> implements Watch<T> {
  readonly store: MapWatchStore<T>;
  readonly events$: Observable<WatchEvent<T>>;
  readonly synced$: Observable<boolean>;
  readonly denied$: Observable<string | undefined>;

  private readonly subject = new Subject<WatchEvent<T>>();
  private readonly syncedSubject = new BehaviorSubject<boolean>(false);
  private readonly deniedSubject = new BehaviorSubject<string | undefined>(undefined);
  private readonly scheduler: SchedulerLike;
  private readonly random: () => number;
  private readonly backoff: Backoff;
  private readonly deliveryBackoff: Backoff;
  private readonly timers: Timers;
  private readonly queue: DeliveryQueue<T>;
  private readonly dirty: DirtySet<T>;
  /** When the dirty set last went from empty to holding a key (the settle window's start). */
  private dirtySinceMs: number | undefined;
  private readonly metrics: WatchMetrics;
  private readonly logger: Logger | undefined;
  private readonly retain: (obj: T, key?: string) => T;

  /**
   * Last orders of recently deleted keys (FIFO, at most DELETED_MEMORY entries): a late, older state
   * from the feed must not resurrect them. Keys that reappear in a list are forgotten.
   */
  private readonly deletedOrders = new Map<string, number>();
  private relistCause: RelistCause | undefined;
  /** Marks store entries seen by the current list (StoreEntry.seen). */
  private listGeneration = 0;
  private relisting = false;
  private pollDue = false;
  private lastCursor: string | undefined;
  private hintSub: Subscription | undefined;
  private hintGeneration = 0;
  private hintSeq = 0;
  /** hintSeq at the last reconcile round (for the debug line that shows coalescing). */
  private reconciledHintSeq = 0;
  private pendingBookmark: { cursor: string; seq: number } | undefined;
  private lastActivityMs = 0;
  /** The non-empty token each key last polled had ('' tokens are never compared, so never kept). */
  private prevPoll: Map<string, string> | undefined;
  /** When the armed poll timer fires (scheduler ms); undefined while none is armed. */
  private pollAtMs: number | undefined;
  /** No poll before this time (scheduler ms): the backoff after a failed poll. */
  private pollNotBeforeMs = 0;
  private intervalSub: Subscription | undefined;
  private started = false;
  private stopped = false;
  private stopPromise: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly source: WatchSource<T>,
    private readonly options: WatchOptions<T> = {},
  ) {
    this.store = new MapWatchStore<T>(source.indexers);
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.random = options.random ?? Math.random;
    this.retain = options.retain ?? ((obj) => obj);
    this.backoff = new Backoff(options.backoff, this.scheduler, this.random);
    this.deliveryBackoff = new Backoff(options.backoff, this.scheduler, this.random);
    this.timers = new Timers(this.scheduler);
    this.metrics = new WatchMetrics(options.metrics, source.id);
    // The engine names its source on every line; a logger that already does (bindings) is used as is.
    const bound = options.logger?.bindings()['source'] === source.id;
    this.logger = bound ? options.logger : options.logger?.child({ source: source.id });
    this.events$ = this.subject.asObservable();
    this.synced$ = this.syncedSubject.asObservable();
    this.denied$ = this.deniedSubject.asObservable();
    this.dirty = new DirtySet<T>(
      (candidate, pending) => !isOlder(source.orderOf(candidate), source.orderOf(pending)),
    );
    source.attachStore?.(this.store);
    const deliverOpts = {
      emit: (event: WatchEvent<T>) => {
        if (this.stopped) return;
        this.metrics.event(event);
        this.subject.next(event);
      },
      onDepth: (n: number) => this.metrics.queueDepth(n),
      onDeliverError: (err: unknown, event: WatchEvent<T>) => {
        const waitMs = this.deliveryBackoff.next();
        this.logger?.warn({ err, eventType: event.type, waitMs }, 'delivery failed; retrying');
        return waitMs;
      },
      sleep: (ms: number) => this.timers.sleep(ms),
    };
    this.queue = new DeliveryQueue<T>(
      options.deliver ? { ...deliverOpts, deliver: options.deliver } : deliverOpts,
    );
  }

  get synced(): boolean {
    return this.syncedSubject.value;
  }

  get denied(): string | undefined {
    return this.deniedSubject.value;
  }

  /** Pending delivery entries (for tests and health). */
  get queueDepth(): number {
    return this.queue.depth;
  }

  get maxQueueDepth(): number {
    return this.queue.maxDepth;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.metrics.ready(0);
    const initial = this.options.initial;
    if (initial) {
      for (const o of initial.objects) {
        this.store.set(o.key, {
          object: this.retain(o.object, o.key),
          hash: o.hash,
          order: o.order,
          seen: 0,
        });
      }
      this.lastCursor = initial.cursor;
      this.relistCause = 'restart';
    } else {
      this.relistCause = 'initial';
    }
    this.intervalSub = this.source.cheapPoll?.intervalChanges$?.subscribe({
      next: () => this.pollIntervalChanged(),
      error: (err: unknown) =>
        this.logger?.warn({ err }, 'poll interval changes failed; the interval is read at each schedule'),
    });
    void this.run();
  }

  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.stopped = true;
    this.unsubscribeHints();
    this.intervalSub?.unsubscribe();
    this.timers.cancelAll();
    this.wake();
    this.stopPromise = (async () => {
      await this.queue.close();
      this.metrics.queueDepth(0);
      this.metrics.ready(0);
      this.metrics.denied(undefined, this.deniedSubject.value);
      this.subject.complete();
      this.syncedSubject.complete();
      this.deniedSubject.complete();
      this.logger?.info('watch stopped');
    })();
    return this.stopPromise;
  }

  // ---- worker -------------------------------------------------------------------------------

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.relistCause !== undefined) {
          await this.relist(this.relistCause);
        } else if (this.dirty.size > 0) {
          // Hints that arrive within the source's settle window are read in one round.
          const settleMs = (this.dirtySinceMs ?? 0) + (this.source.hintSettleMs ?? 0) - this.scheduler.now();
          if (settleMs > 0) await this.timers.sleep(settleMs);
          else await this.processDirty();
        } else if (this.pollDue) {
          this.pollDue = false;
          await this.poll();
        } else {
          this.flushBookmark(Number.POSITIVE_INFINITY);
          await new Promise<void>((resolve) => {
            this.wakeUp = resolve;
          });
        }
      } catch (err) {
        if (this.stopped) return;
        // Unexpected (a bug or a throwing keyOf/hashOf): never stop; back off and relist.
        this.logger?.error({ err }, 'watch worker failed; relisting after backoff');
        await this.timers.sleep(this.backoff.next());
        this.relisting = false;
        this.requestRelist('error');
      }
    }
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private requestRelist(cause: RelistCause): void {
    if (this.stopped) return;
    if (this.relistCause === undefined) {
      this.relistCause = cause;
      this.logger?.debug({ cause, relisting: this.relisting }, 'relist requested');
    } else {
      this.logger?.debug(
        { cause, pendingCause: this.relistCause },
        'relist requested while one is pending; coalesced into it',
      );
    }
    this.wake();
  }

  private emit(event: WatchEvent<T>): void {
    if (!this.stopped) this.queue.push(event);
  }

  private failureDelay(err: unknown, what: string): number {
    const retryAfterMs = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
    const waitMs = this.backoff.next(typeof retryAfterMs === 'number' ? retryAfterMs : undefined);
    this.logger?.warn({ err, throttled: isThrottling(err), waitMs }, `${what} failed; backing off`);
    return waitMs;
  }

  // ---- relist -------------------------------------------------------------------------------

  private async relist(cause: RelistCause): Promise<void> {
    this.relistCause = undefined;
    this.relisting = true;
    this.unsubscribeHints();
    this.timers.clear(WATCHDOG);
    this.timers.clear(RESYNC);
    this.timers.clear(HINTS);
    // Everything hinted so far happened before this list: the list subsumes it.
    this.dirty.clear();
    this.pendingBookmark = undefined;
    this.metrics.relist(cause);
    this.logger?.info({ cause, known: this.store.size }, 'relist started');
    this.emit({ type: 'RELIST', sourceId: this.source.id, cause, phase: 'start' });

    const result = await this.listAndDiff();
    if (!result || this.stopped) return;
    const { cursor, stats } = result;
    const id = this.source.id;
    this.lastCursor = cursor;
    const done: WatchEvent<T> = { type: 'RELIST', sourceId: id, cause, phase: 'done' };
    if (cursor !== undefined) done.cursor = cursor;
    this.emit(done);
    if (cursor !== undefined) this.emit({ type: 'BOOKMARK', sourceId: id, cursor });
    this.logger?.info({ cause, ...stats }, 'relist done');
    this.relisting = false;
    if (!this.syncedSubject.value) {
      this.syncedSubject.next(true);
      this.metrics.ready(1);
    }
    this.subscribeHints();
    this.touchWatchdog();
    const resyncMs = jittered(this.options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS, 0.9, 1.1, this.random);
    this.logger?.debug(
      { resyncInMs: resyncMs, cursor },
      'watching from the list cursor; periodic relist scheduled',
    );
    this.timers.set(RESYNC, resyncMs, () => this.requestRelist('periodic'));
    const cheap = this.source.cheapPoll;
    if (cheap && !this.timers.isSet(POLL) && !this.pollDue) this.schedulePoll(cheap.intervalMs);
  }

  /**
   * Lists every page and diffs each page against the store as it arrives (no second copy of the
   * world in memory): new -> ADDED, changed hash -> MODIFIED (unless provably older), then every
   * stored key this list did not see -> DELETED tombstone. Retries until done or stopped: a
   * throttled page is retried as is; any other failure restarts the list from the first page.
   */
  private async listAndDiff(): Promise<{ cursor: string | undefined; stats: RelistStats } | undefined> {
    const stats: RelistStats = { listed: 0, added: 0, modified: 0, deleted: 0, skipped: 0 };
    let seen = ++this.listGeneration;
    let cursor: string | undefined;
    let token: string | undefined;
    let first = true;
    for (;;) {
      let page;
      try {
        page = await this.source.list(token);
      } catch (err) {
        if (this.stopped) return undefined;
        const permission = deniedPermission(err);
        if (permission !== undefined) {
          // Denied: nothing is diffed (the store stays as it is); the whole list is tried again later.
          const retryInMs = this.options.deniedRetryMs ?? DEFAULT_DENIED_RETRY_MS;
          this.setDenied(permission);
          this.logger?.warn(
            { source: this.source.id, permission, retryInMs, err },
            `list denied: missing permission ${permission}; keeping the objects known so far, retrying later`,
          );
          seen = ++this.listGeneration;
          token = undefined;
          first = true;
          stats.listed = 0;
          stats.skipped = 0;
          await this.timers.sleep(retryInMs);
          if (this.stopped) return undefined;
          continue;
        }
        const waitMs = this.failureDelay(err, 'list');
        if (!isThrottling(err)) {
          seen = ++this.listGeneration;
          token = undefined;
          first = true;
          stats.listed = 0;
          stats.skipped = 0;
        }
        await this.timers.sleep(waitMs);
        if (this.stopped) return undefined;
        continue;
      }
      if (this.stopped) return undefined;
      if (first) {
        cursor = page.cursor;
        first = false;
      }
      for (const object of page.items) this.diffListed(object, seen, stats);
      token = page.nextPageToken;
      if (token === undefined || token === '') break;
    }
    const wasDenied = this.deniedSubject.value;
    if (wasDenied !== undefined) {
      this.logger?.info({ source: this.source.id, permission: wasDenied }, 'list allowed again');
      this.setDenied(undefined);
    }
    const id = this.source.id;
    for (const [key, cur] of this.store.entries) {
      if (cur.seen === seen) continue;
      this.store.delete(key);
      stats.deleted++;
      this.rememberDeleted(key, cur.order);
      this.emit({ type: 'DELETED', sourceId: id, key, object: cur.object, tombstone: true });
    }
    if (this.deletedOrders.size > 0) {
      for (const key of this.deletedOrders.keys()) if (this.store.has(key)) this.deletedOrders.delete(key);
    }
    return { cursor, stats };
  }

  private setDenied(permission: string | undefined): void {
    const previous = this.deniedSubject.value;
    if (previous === permission) return;
    this.metrics.denied(permission, previous);
    this.deniedSubject.next(permission);
  }

  private diffListed(object: T, seen: number, stats: RelistStats): void {
    let key: string | undefined;
    let cur: StoreEntry<T> | undefined;
    let hash: string;
    let order: number | undefined;
    try {
      key = this.source.keyOf(object);
      cur = this.store.entry(key);
      // A new key is kept whatever its hash: retained first (with the key the store will keep),
      // so its hash can reuse what retain shared.
      if (cur === undefined) object = this.retain(object, key);
      hash = this.source.hashOf(object);
      order = this.source.orderOf(object);
    } catch (err) {
      // Bad input: skip it, and keep whatever we knew about that key rather than tombstoning it.
      stats.skipped++;
      const known = key === undefined ? undefined : this.store.entry(key);
      if (known) known.seen = seen;
      this.logger?.warn({ err }, 'skipped a list item that could not be read');
      return;
    }
    stats.listed++;
    const id = this.source.id;
    if (!cur) {
      this.store.add(key, { object, hash, order, seen });
      stats.added++;
      this.emit(changed('ADDED', id, key, object, hash, order));
      return;
    }
    cur.seen = seen;
    if (cur.hash !== hash) {
      if (isOlder(order, cur.order)) return; // a stale list entry never overwrites a newer state
      const kept = this.retain(object);
      this.store.replaceObject(key, cur, kept);
      cur.hash = hash;
      cur.order = order;
      stats.modified++;
      this.emit(changed('MODIFIED', id, key, kept, hash, order));
    } else if (order !== undefined && (cur.order === undefined || order > cur.order)) {
      cur.order = order;
    }
  }

  // ---- hints --------------------------------------------------------------------------------

  private unsubscribeHints(): void {
    this.hintGeneration++;
    const sub = this.hintSub;
    this.hintSub = undefined;
    sub?.unsubscribe();
  }

  private subscribeHints(): void {
    if (this.stopped) return;
    this.unsubscribeHints();
    const gen = this.hintGeneration;
    let hints$: Observable<Hint<T>>;
    try {
      hints$ = this.source.hints(this.lastCursor);
    } catch (err) {
      this.onHintsEnded(gen, err, true);
      return;
    }
    const sub = hints$.subscribe({
      next: (h) => {
        if (gen !== this.hintGeneration) return;
        try {
          this.onHint(h);
        } catch (err) {
          // Bad input from the feed must not escape into RxJS (it would rethrow it asynchronously).
          this.logger?.warn({ err }, 'skipped a hint that could not be read');
        }
      },
      error: (err: unknown) => this.onHintsEnded(gen, err, true),
      complete: () => this.onHintsEnded(gen, undefined, false),
    });
    if (gen === this.hintGeneration && !sub.closed) this.hintSub = sub;
    else sub.unsubscribe();
  }

  private onHintsEnded(gen: number, err: unknown, failed: boolean): void {
    if (gen !== this.hintGeneration || this.stopped) return;
    this.hintGeneration++;
    this.hintSub = undefined;
    const throttled = failed && isThrottling(err);
    const waitMs = failed ? this.failureDelay(err, 'hint stream') : this.backoff.next();
    if (!failed) this.logger?.info({ waitMs }, 'hint stream ended; resubscribing');
    this.logger?.debug({ waitMs, failed, throttled }, 'hint stream ended; deciding after the backoff');
    this.timers.set(HINTS, waitMs, () => {
      if (this.stopped || this.relisting || this.relistCause !== undefined) {
        this.logger?.debug('hint stream: a relist is under way or pending; not resubscribing');
        return;
      }
      if (this.lastCursor !== undefined || throttled) {
        this.logger?.debug({ cursor: this.lastCursor }, 'hint stream: resubscribing from the last cursor');
        this.subscribeHints();
      } else {
        this.logger?.debug('hint stream: no cursor to resume from; relisting');
        this.requestRelist(failed ? 'error' : 'gap');
      }
    });
  }

  private onHint(h: Hint<T>): void {
    this.touchWatchdog();
    if (this.dirty.size === 0) this.dirtySinceMs = this.scheduler.now();
    if (
      (h.type === 'changed' || h.type === 'deleted' || h.type === 'family') &&
      (typeof h.key !== 'string' || h.key === '')
    ) {
      this.logger?.warn({ hintType: h.type }, 'skipped a hint without a key');
      return;
    }
    switch (h.type) {
      case 'changed':
        this.hintSeq++;
        if (h.cursor !== undefined) this.lastCursor = h.cursor;
        this.dirty.changed(h.key, h.state, h.cursor, h.ref);
        break;
      case 'deleted':
        this.hintSeq++;
        if (h.cursor !== undefined) this.lastCursor = h.cursor;
        this.dirty.needsFetch(h.key, h.cursor, h.ref);
        break;
      case 'family':
        if (typeof h.index !== 'string' || h.index === '') {
          this.logger?.warn('skipped a family hint without an index');
          return;
        }
        this.hintSeq++;
        if (h.cursor !== undefined) this.lastCursor = h.cursor;
        this.dirty.family(h.key, h.index, h.cursor, h.ref);
        break;
      case 'gap':
        this.logger?.info({ reason: h.reason }, 'change feed reported a gap; relisting');
        this.requestRelist('gap');
        return;
      case 'bookmark':
        this.lastCursor = h.cursor;
        this.pendingBookmark = { cursor: h.cursor, seq: this.hintSeq };
        break;
      default:
        this.logger?.warn('skipped a hint of unknown type');
        return;
    }
    this.wake();
  }

  /**
   * Makes the cursor of a read round's newest hint the pending bookmark, emitted (flushBookmark)
   * once the round's every event was: the events of a round carry no cursor, so a consumer that
   * persists cursors never holds one past a hinted key not applied yet (a crash mid-round, a round
   * whose reads failed and are retried). Every hint received so far is in `batch` or was applied
   * before, so the newest cursor received (`lastCursor`) is the round's. A round of hints without
   * cursors (a cheap poll's) adds none.
   */
  private bookmarkAfter(batch: Map<string, DirtyEntry<T>>, reconciledSeq: number): void {
    const cursor = this.lastCursor;
    if (cursor === undefined) return;
    for (const d of batch.values()) {
      if (d.cursor === undefined) continue;
      this.pendingBookmark = { cursor, seq: reconciledSeq };
      return;
    }
  }

  /** Emits the pending bookmark once every hint received before it has been reconciled. */
  private flushBookmark(reconciledSeq: number): void {
    const b = this.pendingBookmark;
    if (!b || b.seq > reconciledSeq) return;
    this.pendingBookmark = undefined;
    this.emit({ type: 'BOOKMARK', sourceId: this.source.id, cursor: b.cursor });
  }

  // ---- watchdog -----------------------------------------------------------------------------

  private touchWatchdog(): void {
    this.lastActivityMs = this.scheduler.now();
    const timeoutMs = this.options.watchdogTimeoutMs;
    if (timeoutMs === undefined || this.relisting || this.stopped) return;
    if (!this.timers.isSet(WATCHDOG)) this.armWatchdog(timeoutMs);
  }

  private armWatchdog(afterMs: number): void {
    this.timers.set(WATCHDOG, afterMs, () => {
      const timeoutMs = this.options.watchdogTimeoutMs ?? 0;
      const idleMs = this.scheduler.now() - this.lastActivityMs;
      if (this.relisting) return;
      if (idleMs >= timeoutMs) {
        this.logger?.warn({ idleMs }, 'watchdog: nothing heard from the source; relisting');
        this.requestRelist('watchdog');
      } else {
        this.armWatchdog(timeoutMs - idleMs);
      }
    });
  }

  // ---- reconcile dirty keys -----------------------------------------------------------------

  private async processDirty(): Promise<void> {
    const batch = this.dirty.take();
    this.dirtySinceMs = undefined;
    const reconciledSeq = this.hintSeq;
    // Hints for the same key since the last round are coalesced into one reconcile of that key.
    this.logger?.debug(
      { keys: batch.size, hints: reconciledSeq - this.reconciledHintSeq },
      'reconciling hinted keys',
    );
    this.reconciledHintSeq = reconciledSeq;
    this.bookmarkAfter(batch, reconciledSeq);
    const toFetch: string[] = [];
    const refs = new Map<string, string>();
    for (const [key, d] of batch) {
      if (d.ref !== undefined) refs.set(key, d.ref);
      // A state for a key we do not hold is confirmed by reading it: a late hint must not
      // resurrect an object that was created and deleted while we were not looking.
      if (d.needsFetch || !this.store.has(key)) toFetch.push(key);
      else this.apply(key, d.state, false);
    }
    if (toFetch.length > 0) {
      const fetched = new Map<string, T | undefined>();
      try {
        await this.fetch(toFetch, fetched, refs);
      } catch (err) {
        if (this.stopped || this.relistCause !== undefined) return;
        for (const [key, obj] of fetched) this.apply(key, obj, true);
        this.restoreUnfetched(toFetch, fetched, batch);
        await this.timers.sleep(this.failureDelay(err, 'get'));
        return;
      }
      if (this.stopped || this.relistCause !== undefined) return;
      for (const key of toFetch) this.apply(key, fetched.get(key), true);
      if (!(await this.expandFamilies(batch, fetched))) return;
    }
    this.flushBookmark(reconciledSeq);
  }

  private restoreUnfetched(
    keys: string[],
    fetched: Map<string, T | undefined>,
    batch: Map<string, DirtyEntry<T>>,
  ): void {
    for (const key of keys) {
      const entry = batch.get(key);
      if (fetched.has(key) || entry === undefined) continue;
      this.dirty.restore(key, entry);
    }
  }

  /**
   * Reads the children of every family parent in `batch` (its parent already read into `fetched`
   * and applied): the keys `childKeysOf` names unioned with the store's index, one read round for
   * all of them. A child read as gone, and every indexed child of a gone parent, becomes a DELETED
   * tombstone. Returns false when the round did not complete (the families are marked again).
   */
  private async expandFamilies(
    batch: Map<string, DirtyEntry<T>>,
    fetched: Map<string, T | undefined>,
  ): Promise<boolean> {
    const parents: Array<[string, DirtyEntry<T>]> = [];
    for (const [key, d] of batch) if (d.families !== undefined) parents.push([key, d]);
    if (parents.length === 0) return true;
    const children = new Set<string>();
    /** Child key -> the provider name its parent gave with it. */
    const childRefs = new Map<string, string>();
    try {
      for (const [key, d] of parents) {
        const parent = fetched.get(key);
        for (const index of d.families ?? []) {
          for (const child of [...this.store.byIndex(index, key)]) {
            // A child read in this round already holds its own answer.
            if (fetched.has(child)) continue;
            if (parent === undefined) this.tombstone(child);
            else children.add(child);
          }
        }
        if (parent === undefined || this.source.childKeysOf === undefined) continue;
        for (const child of await this.source.childKeysOf(parent)) {
          if (typeof child === 'string') children.add(child);
          else {
            children.add(child.key);
            childRefs.set(child.key, child.ref);
          }
        }
        if (this.stopped || this.relistCause !== undefined) return false;
      }
    } catch (err) {
      return this.familyFailed(err, parents);
    }
    const toRead = [...children].filter((k) => !fetched.has(k));
    if (toRead.length === 0) return true;
    const read = new Map<string, T | undefined>();
    try {
      await this.fetch(toRead, read, childRefs);
    } catch (err) {
      if (this.stopped || this.relistCause !== undefined) return false;
      return this.familyFailed(err, parents);
    }
    if (this.stopped || this.relistCause !== undefined) return false;
    for (const key of toRead) {
      const child = read.get(key);
      if (child === undefined) this.tombstone(key);
      else this.apply(key, child, true);
    }
    return true;
  }

  private async familyFailed(err: unknown, parents: Array<[string, DirtyEntry<T>]>): Promise<false> {
    if (this.stopped || this.relistCause !== undefined) return false;
    for (const [key, d] of parents) this.dirty.restore(key, d);
    await this.timers.sleep(this.failureDelay(err, 'family read'));
    return false;
  }

  /** Reads `keys` into `out`, handing the source the provider names it gave for keys it may not hold. */
  private async fetch(
    keys: string[],
    out: Map<string, T | undefined>,
    refs: ReadonlyMap<string, string>,
  ): Promise<void> {
    const getMany = this.source.getMany?.bind(this.source);
    if (getMany && keys.length > 1) {
      const got = refs.size > 0 ? await getMany(keys, refs) : await getMany(keys);
      for (const key of keys) out.set(key, got.get(key));
      return;
    }
    for (const key of keys) {
      const ref = refs.get(key);
      const obj = ref === undefined ? await this.source.get(key) : await this.source.get(key, ref);
      if (this.stopped) return;
      out.set(key, obj);
    }
  }

  /** Removes a stored key whose deletion was inferred, not read: a DELETED tombstone. */
  private tombstone(key: string): void {
    const cur = this.store.entry(key);
    if (cur === undefined) return;
    this.store.delete(key);
    this.rememberDeleted(key, cur.order);
    this.emit({ type: 'DELETED', sourceId: this.source.id, key, object: cur.object, tombstone: true });
  }

  /**
   * Reconciles one key with a state read from a hint or the provider (`undefined`: gone). Its event
   * carries no cursor: the round's bookmark follows the round (see bookmarkAfter).
   */
  private apply(key: string, object: T | undefined, confirmed: boolean): void {
    const id = this.source.id;
    const cur = this.store.entry(key);
    if (object === undefined) {
      if (!cur || !confirmed) {
        if (!confirmed)
          this.logger?.debug({ key }, 'unconfirmed deletion hint dropped; the object will be read');
        return;
      }
      this.store.delete(key);
      this.rememberDeleted(key, cur.order);
      this.emit({ type: 'DELETED', sourceId: id, key, object: cur.object, tombstone: false });
      return;
    }
    let hash: string;
    let order: number | undefined;
    try {
      // A new key is kept whatever its hash: retained first (with the key the store will keep),
      // so its hash can reuse what retain shared.
      if (cur === undefined) object = this.retain(object, key);
      hash = this.source.hashOf(object);
      order = this.source.orderOf(object);
    } catch (err) {
      this.logger?.warn({ err }, 'skipped an object that could not be read');
      return;
    }
    if (cur) {
      if (isOlder(order, cur.order)) {
        this.logger?.debug(
          { key, order, storedOrder: cur.order },
          'state older than the stored object; dropped',
        );
        return;
      }
      if (cur.hash === hash) {
        if (order !== undefined && (cur.order === undefined || order > cur.order)) cur.order = order;
        return;
      }
      const kept = this.retain(object);
      this.store.replaceObject(key, cur, kept);
      cur.hash = hash;
      cur.order = order;
      this.emit(changed('MODIFIED', id, key, kept, hash, order));
      return;
    }
    const deletedOrder = this.deletedOrders.get(key);
    if (deletedOrder !== undefined && order !== undefined && order <= deletedOrder) {
      this.logger?.debug({ key, order, deletedOrder }, "state older than the object's deletion; dropped");
      return;
    }
    this.deletedOrders.delete(key);
    this.store.add(key, { object, hash, order, seen: this.listGeneration });
    this.emit(changed('ADDED', id, key, object, hash, order));
  }

  private rememberDeleted(key: string, order: number | undefined): void {
    if (order === undefined) return;
    this.deletedOrders.delete(key);
    this.deletedOrders.set(key, order);
    if (this.deletedOrders.size > DELETED_MEMORY) {
      const oldest = this.deletedOrders.keys().next();
      if (!oldest.done) this.deletedOrders.delete(oldest.value);
    }
  }

  // ---- cheap poll ---------------------------------------------------------------------------

  private schedulePoll(afterMs: number): void {
    this.pollAtMs = this.scheduler.now() + afterMs;
    this.timers.set(POLL, afterMs, () => {
      this.pollAtMs = undefined;
      this.pollDue = true;
      this.wake();
    });
  }

  /**
   * The source's poll interval may have changed: an armed poll further away than the interval now
   * is brought forward to it (not ahead of a failed poll's backoff). A poll that is due or running
   * schedules its successor with the new interval itself.
   */
  private pollIntervalChanged(): void {
    const cheap = this.source.cheapPoll;
    const atMs = this.pollAtMs;
    if (cheap === undefined || atMs === undefined || this.stopped || !this.timers.isSet(POLL)) return;
    const nowMs = this.scheduler.now();
    const soonestMs = Math.max(nowMs + cheap.intervalMs, this.pollNotBeforeMs);
    if (soonestMs >= atMs) return;
    this.logger?.debug(
      { intervalMs: cheap.intervalMs, wasInMs: atMs - nowMs, nowInMs: soonestMs - nowMs },
      'poll interval shortened; next poll brought forward',
    );
    this.schedulePoll(soonestMs - nowMs);
  }

  private async poll(): Promise<void> {
    const cheap = this.source.cheapPoll;
    if (!cheap) return;
    let tokens: Map<string, PollToken>;
    try {
      tokens = await cheap.poll();
    } catch (err) {
      if (this.stopped) return;
      const waitMs = this.failureDelay(err, 'cheap poll');
      this.pollNotBeforeMs = this.scheduler.now() + waitMs;
      this.schedulePoll(Math.max(cheap.intervalMs, waitMs));
      return;
    }
    if (this.stopped) return;
    this.schedulePoll(cheap.intervalMs);
    if (this.relistCause !== undefined) return;
    this.touchWatchdog();
    if (tokens instanceof PartialPoll) this.pollPartial(tokens);
    else this.pollFull(tokens);
  }

  /** A full poll: every stored key it does not give has vanished; its tokens replace prevPoll. */
  private pollFull(tokens: Map<string, PollToken>): void {
    const prev = this.prevPoll;
    const kept = new Map<string, string>();
    for (const [key, value] of tokens) this.pollToken(key, value, prev?.get(key), kept);
    for (const key of this.store.keys()) if (!tokens.has(key)) this.dirty.needsFetch(key, undefined);
    this.prevPoll = kept;
  }

  /**
   * A partial poll: only the stored keys under its scope can have vanished; prevPoll keeps the
   * tokens of stored keys it does not give, and forgets those of keys the store does not hold
   * (bounded by the store, not by the polls).
   */
  private pollPartial(tokens: PartialPoll): void {
    const { scope } = tokens;
    const prev = (this.prevPoll ??= new Map<string, string>());
    for (const key of prev.keys()) if (!tokens.has(key) && !this.store.has(key)) prev.delete(key);
    for (const value of scope.values) {
      for (const key of this.store.byIndex(scope.index, value)) {
        if (tokens.has(key)) continue;
        prev.delete(key);
        this.dirty.needsFetch(key, undefined);
      }
    }
    for (const [key, value] of tokens) {
      const before = prev.get(key);
      prev.delete(key);
      this.pollToken(key, value, before, prev);
    }
  }

  /** One key of a poll: marks it for a fetch when new or its token changed; keeps a non-empty token. */
  private pollToken(
    key: string,
    value: PollToken,
    before: string | undefined,
    kept: Map<string, string>,
  ): void {
    const token = tokenOf(value);
    const ref = typeof value === 'string' ? undefined : value.ref;
    if (token !== '') kept.set(key, token);
    if (!this.store.has(key)) {
      // New to us; skip only if the previous poll already showed it unchanged (fetched then).
      if (before === undefined || before !== token || token === '')
        this.dirty.needsFetch(key, undefined, ref);
    } else if (before !== undefined && token !== '' && before !== token) {
      this.dirty.needsFetch(key, undefined);
    }
  }
}

/** An ADDED / MODIFIED event with the hash and order the engine computed. */
function changed<T>(
  type: 'ADDED' | 'MODIFIED',
  sourceId: string,
  key: string,
  object: T,
  hash: string,
  order: number | undefined,
): WatchEvent<T> {
  return order === undefined
    ? { type, sourceId, key, object, hash }
    : { type, sourceId, key, object, hash, order };
}

export function createWatch<T>(source: WatchSource<T>, options?: WatchOptions<T>): Watch<T> {
  return new WatchEngine(source, options);
}
