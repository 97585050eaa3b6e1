/**
 * Sequential delivery with per-key coalescing (DeltaFIFO-like). Events are handed to `deliver` one
 * at a time, in order; while it is busy, a new event for a key that is already pending replaces
 * the pending one in place (states may be skipped, never reordered), so the queue holds at most one
 * entry per object key plus at most one BOOKMARK and one RELIST marker per phase.
 *
 * Coalescing keeps the consumer's view right: the delivered type is computed from what the consumer
 * last saw (ADDED if it never saw the key, else MODIFIED; DELETED wins). An ADDED followed by a
 * DELETED is delivered as a DELETED of the last state, so a short-lived object is still reported.
 *
 * Failure: a rejected `deliver` is retried (backoff) with the newest pending state of that key,
 * ahead of everything else; nothing is dropped. A rejected marker (BOOKMARK, RELIST) is retried as
 * it was: a newer one stays at the end, behind the events queued before it, so a persisted cursor
 * never passes an event not yet delivered. `close()` stops after the in-flight delivery.
 */
import type { WatchEvent } from './events.js';

type MarkerKey = symbol;
const BOOKMARK: MarkerKey = Symbol('bookmark');
const RELIST_START: MarkerKey = Symbol('relist-start');
const RELIST_DONE: MarkerKey = Symbol('relist-done');

interface Pending<T> {
  key: string | MarkerKey;
  event: WatchEvent<T>;
  /** Whether the consumer had the object before this pending entry's first event. */
  consumerHad: boolean;
}

interface DeliveryQueueOptions<T> {
  deliver?: (event: WatchEvent<T>) => void | Promise<void>;
  /** Called after delivery resolved (or immediately without `deliver`). */
  emit: (event: WatchEvent<T>) => void;
  onDepth?: (depth: number) => void;
  /** Returns how long to wait after a failed delivery. */
  onDeliverError: (err: unknown, event: WatchEvent<T>) => number;
  sleep: (ms: number) => Promise<unknown>;
}

function keyOfEvent<T>(event: WatchEvent<T>): string | MarkerKey {
  switch (event.type) {
    case 'BOOKMARK':
      return BOOKMARK;
    case 'RELIST':
      return event.phase === 'start' ? RELIST_START : RELIST_DONE;
    default:
      return event.key;
  }
}

function withType<T>(event: WatchEvent<T>, consumerHad: boolean): WatchEvent<T> {
  if (event.type !== 'ADDED' && event.type !== 'MODIFIED') return event;
  const type = consumerHad ? 'MODIFIED' : 'ADDED';
  return event.type === type ? event : { ...event, type };
}

export class DeliveryQueue<T> {
  private readonly pending = new Map<string | MarkerKey, Pending<T>>();
  private iterator: IterableIterator<Pending<T>> | undefined;
  private retry: Pending<T> | undefined;
  private draining = false;
  private closed = false;
  private inFlight: Promise<void> | undefined;
  private maxDepthSeen = 0;

  constructor(private readonly options: DeliveryQueueOptions<T>) {}

  /** Entries waiting (not counting the one being delivered). */
  get depth(): number {
    return this.pending.size + (this.retry ? 1 : 0);
  }

  /** Highest depth observed since creation. */
  get maxDepth(): number {
    return this.maxDepthSeen;
  }

  push(event: WatchEvent<T>): void {
    if (this.closed) return;
    if (!this.draining && this.options.deliver === undefined && this.depth === 0) {
      // Fast path: nothing pending and no consumer to wait for.
      this.options.emit(event);
      return;
    }
    const key = keyOfEvent(event);
    if (typeof key === 'symbol') {
      // Markers move to the end: a newer bookmark / relist marker supersedes a pending one.
      this.pending.delete(key);
      this.pending.set(key, { key, event, consumerHad: false });
    } else {
      const prev = this.pending.get(key);
      if (prev) this.merge(prev, event);
      else this.pending.set(key, { key, event, consumerHad: event.type !== 'ADDED' });
    }
    this.reportDepth();
    if (!this.draining) this.inFlight = this.drain();
  }

  /** Stops delivering; resolves after the in-flight delivery (if any) settled. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending.clear();
    this.retry = undefined;
    this.reportDepth();
    await this.inFlight;
  }

  private merge(prev: Pending<T>, next: WatchEvent<T>): void {
    prev.event = withType(next, prev.consumerHad);
  }

  private reportDepth(): void {
    const d = this.depth;
    if (d > this.maxDepthSeen) this.maxDepthSeen = d;
    this.options.onDepth?.(d);
  }

  private takeNext(): Pending<T> | undefined {
    if (this.retry) {
      const r = this.retry;
      this.retry = undefined;
      // A marker is retried as it was (a newer one waits behind the events queued before it).
      if (typeof r.key === 'symbol') return r;
      // A newer state of the same key arrived while the retry waited: deliver that one instead.
      const newer = this.pending.get(r.key);
      if (!newer) return r;
      this.pending.delete(r.key);
      if (typeof r.key !== 'symbol') {
        newer.consumerHad = r.consumerHad;
        newer.event = withType(newer.event, r.consumerHad);
      }
      return newer;
    }
    if (this.pending.size === 0) return undefined;
    let step = this.iterator?.next();
    if (!step || step.done) {
      this.iterator = this.pending.values();
      step = this.iterator.next();
    }
    if (step.done) return undefined;
    const entry = step.value;
    this.pending.delete(entry.key);
    return entry;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (;;) {
        if (this.closed) return;
        const next = this.takeNext();
        if (!next) return;
        this.reportDepth();
        const deliver = this.options.deliver;
        if (deliver) {
          try {
            const r = deliver(next.event);
            if (r !== undefined && typeof (r as Promise<void>).then === 'function') await r;
          } catch (err) {
            if (this.closed) return;
            this.requeueFailed(next);
            await this.options.sleep(this.options.onDeliverError(err, next.event));
            continue;
          }
        }
        if (this.closed) return;
        this.options.emit(next.event);
      }
    } finally {
      this.draining = false;
    }
  }

  private requeueFailed(failed: Pending<T>): void {
    const newer = typeof failed.key === 'symbol' ? undefined : this.pending.get(failed.key);
    if (newer) {
      this.pending.delete(failed.key);
      newer.consumerHad = failed.consumerHad;
      newer.event = withType(newer.event, failed.consumerHad);
      this.retry = newer;
    } else {
      this.retry = failed;
    }
    this.reportDepth();
  }
}
