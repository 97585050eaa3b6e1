/**
 * API budget: a token bucket per provider bucket (e.g. `ecs:cluster-resource-read`), so the watcher
 * never eats the customer's shared API quota. Rates default to a fraction (25 %) of the provider's
 * documented refill rate; burst to the same fraction of the documented burst (at least 1).
 *
 * `acquire` resolves when a token is available; waiting uses the injected scheduler, so tests
 * drive it with virtual time. The total time callers waited is exposed (`waitedMs`) for the
 * "interval stretch" metric (and counted in `budgetWaitMs{bucket}` when metrics are given).
 * Redefining a bucket keeps its waiters and its waited total. Waiters are served in FIFO order.
 * With a logger, waits are explained at debug: the first wait of a bucket at once, then at most one
 * line per bucket every BUDGET_WAIT_LOG_INTERVAL_MS summing the waits since (no flood under load).
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import type { CoreMetrics } from '../runtime/metrics.js';
import type { Logger } from '../runtime/logger.js';

/** At most one "waited for API budget" debug line per bucket per this interval. */
export const BUDGET_WAIT_LOG_INTERVAL_MS = 10_000;

export interface BucketLimit {
  /** Tokens available at once. */
  burst: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

interface BucketState {
  limit: BucketLimit;
  tokens: number;
  updatedMs: number;
  waitedMs: number;
  /** Debug log summary: when the last line was written, and the waits since. */
  loggedAtMs: number | undefined;
  waitsSinceLog: number;
  waitedSinceLogMs: number;
  queue: Array<{ n: number; resolve: () => void }>;
  timer: Subscription | undefined;
}

export class ApiBudget {
  private readonly buckets = new Map<string, BucketState>();

  constructor(
    limits: Record<string, BucketLimit>,
    private readonly fraction = 0.25,
    private readonly scheduler: SchedulerLike = asyncScheduler,
    private readonly metrics?: CoreMetrics,
    private readonly logger?: Logger,
  ) {
    for (const [name, limit] of Object.entries(limits)) this.define(name, limit);
  }

  /** Adds (or replaces) a bucket with the provider's documented limit; the fraction is applied here. */
  define(name: string, documented: BucketLimit): void {
    const limit = {
      burst: Math.max(1, Math.floor(documented.burst * this.fraction)),
      refillPerSecond: documented.refillPerSecond * this.fraction,
    };
    const previous = this.buckets.get(name);
    if (previous) {
      this.refill(previous);
      previous.limit = limit;
      previous.tokens = Math.min(previous.tokens, limit.burst);
      previous.timer?.unsubscribe();
      previous.timer = undefined;
      this.drain(previous);
      return;
    }
    this.buckets.set(name, {
      limit,
      tokens: limit.burst,
      updatedMs: this.scheduler.now(),
      waitedMs: 0,
      loggedAtMs: undefined,
      waitsSinceLog: 0,
      waitedSinceLogMs: 0,
      queue: [],
      timer: undefined,
    });
  }

  limitOf(name: string): BucketLimit | undefined {
    return this.buckets.get(name)?.limit;
  }

  /** Total milliseconds callers of this bucket have waited for tokens. */
  waitedMs(name: string): number {
    return this.buckets.get(name)?.waitedMs ?? 0;
  }

  /** Waits until `n` tokens are available in `bucket`, then takes them. Unknown buckets are not limited. */
  acquire(bucket: string, n = 1): Promise<void> {
    const b = this.buckets.get(bucket);
    if (!b) return Promise.resolve();
    this.refill(b);
    if (b.queue.length === 0 && b.tokens >= n) {
      b.tokens -= n;
      return Promise.resolve();
    }
    const requestedAt = this.scheduler.now();
    return new Promise<void>((resolve) => {
      b.queue.push({
        n,
        resolve: () => {
          const waited = this.scheduler.now() - requestedAt;
          b.waitedMs += waited;
          if (waited > 0) this.metrics?.budgetWaitMs.inc({ bucket }, waited);
          if (waited > 0) this.logWait(bucket, b, waited);
          resolve();
        },
      });
      this.drain(b);
    });
  }

  private logWait(bucket: string, b: BucketState, waited: number): void {
    if (!this.logger?.isLevelEnabled('debug')) return;
    b.waitsSinceLog += 1;
    b.waitedSinceLogMs += waited;
    const now = this.scheduler.now();
    if (b.loggedAtMs !== undefined && now - b.loggedAtMs < BUDGET_WAIT_LOG_INTERVAL_MS) return;
    this.logger.debug(
      {
        bucket,
        waits: b.waitsSinceLog,
        waitedMs: b.waitedSinceLogMs,
        queued: b.queue.length,
        refillPerSecond: b.limit.refillPerSecond,
      },
      'calls waited for API budget',
    );
    b.loggedAtMs = now;
    b.waitsSinceLog = 0;
    b.waitedSinceLogMs = 0;
  }

  private refill(b: BucketState): void {
    const now = this.scheduler.now();
    const elapsed = Math.max(0, now - b.updatedMs);
    b.tokens = Math.min(b.limit.burst, b.tokens + (elapsed / 1000) * b.limit.refillPerSecond);
    b.updatedMs = now;
  }

  private drain(b: BucketState): void {
    this.refill(b);
    while (b.queue.length > 0) {
      const head = b.queue[0];
      if (!head) break;
      // A request larger than the burst is served once the bucket is full.
      const need = Math.min(head.n, b.limit.burst);
      if (b.tokens < need) break;
      b.tokens -= need;
      b.queue.shift();
      head.resolve();
    }
    const head = b.queue[0];
    if (head && !b.timer) {
      const need = Math.min(head.n, b.limit.burst) - b.tokens;
      const delayMs = Math.max(1, Math.ceil((need / b.limit.refillPerSecond) * 1000));
      b.timer = this.scheduler.schedule(() => {
        b.timer = undefined;
        this.drain(b);
      }, delayMs);
    }
  }
}
