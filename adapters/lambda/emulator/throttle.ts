/**
 * AWS's throttling of the emulated Lambda control plane, per account and region: token buckets with
 * the documented figures (adapters/lambda/limits.ts): GetFunction 100 requests per second, every
 * other control-plane call 15 per second together, CloudTrail LookupEvents 2 per second. `scale`
 * shrinks them for tests; `enabled: false` turns throttling off (benchmarks that measure calls).
 */
import { LAMBDA_BUCKETS, lambdaBucketFor } from '../limits.js';
import { CLOUDTRAIL_BUCKET, CLOUDTRAIL_BUCKETS } from '../../aws/limits.js';

export interface LambdaThrottling {
  enabled: boolean;
  scale: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class LambdaThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly options: LambdaThrottling,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `action` in `region`; false when its bucket is empty. */
  take(region: string, action: string): boolean {
    if (!this.options.enabled) return true;
    const name = action === 'LookupEvents' ? CLOUDTRAIL_BUCKET : lambdaBucketFor(action);
    const figures = LAMBDA_BUCKETS[name] ?? CLOUDTRAIL_BUCKETS[name];
    if (!figures) return true;
    const burst = Math.max(1, figures.burst * this.options.scale);
    const refill = figures.refillPerSecond * this.options.scale;
    const id = `${region}/${name}`;
    const now = this.now();
    let b = this.buckets.get(id);
    if (!b) this.buckets.set(id, (b = { tokens: burst, updatedMs: now }));
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.updatedMs) / 1000) * refill);
    b.updatedMs = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}
