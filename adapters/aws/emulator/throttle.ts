/**
 * AWS's API throttling in an AWS emulator: one token bucket per (region, bucket) of the emulator's
 * one account, with the documented figures the daemon's budget reads too (the provider's
 * `limits.ts`, and CloudTrail LookupEvents' 2 requests per second from adapters/aws/limits.ts), on
 * the emulator's injected clock. `take` answers whether a call may proceed; the server answers a
 * refused one in its protocol (ECS: 400 ThrottlingException, Lambda: 429 TooManyRequestsException).
 *
 * Configurable: `enabled` (off: never throttle, for benchmarks that count calls) and `scale`
 * (multiplies burst and refill, so a test can make a small fleet hit the limits). An action whose
 * bucket has no figures is never throttled.
 */
import type { BucketLimit } from '../../../src/provider/registration.js';
import { CLOUDTRAIL_BUCKET, CLOUDTRAIL_BUCKETS } from '../limits.js';

export interface ThrottlingOptions {
  enabled: boolean;
  /** Multiplies burst and refill (0.1 = a tenth of AWS's figures). */
  scale: number;
}

/** The emulated service's buckets: their figures, and the bucket of each of its actions. */
export interface ServiceBuckets {
  limits: Readonly<Record<string, BucketLimit>>;
  bucketFor(action: string): string;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class ThrottleBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly options: ThrottlingOptions,
    private readonly service: ServiceBuckets,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `action` in `region`; false when its bucket is empty. */
  take(region: string, action: string): boolean {
    if (!this.options.enabled) return true;
    const name = action === 'LookupEvents' ? CLOUDTRAIL_BUCKET : this.service.bucketFor(action);
    const figures = this.service.limits[name] ?? CLOUDTRAIL_BUCKETS[name];
    if (!figures) return true;
    const burst = Math.max(1, figures.burst * this.options.scale);
    const refill = figures.refillPerSecond * this.options.scale;
    const id = `${region}/${name}`;
    const now = this.now();
    let b = this.buckets.get(id);
    if (!b) {
      b = { tokens: burst, updatedMs: now };
      this.buckets.set(id, b);
    }
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.updatedMs) / 1000) * refill);
    b.updatedMs = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Refills every bucket (e.g. between benchmark phases). */
  reset(): void {
    this.buckets.clear();
  }
}
