/**
 * Emulated AWS API throttling: one token bucket per (account, region, bucket) with AWS's documented
 * burst / refill figures (docs/reference/cloud-apis.md), on the emulator's injected clock. `take` answers whether a
 * call may proceed; a refused call is answered with ThrottlingException by the server.
 *
 * Configurable: `enabled` (off: never throttle) and `scale` (multiplies burst and refill, so a test
 * can make a small fleet hit the limits).
 */

export interface BucketFigures {
  burst: number;
  refillPerSecond: number;
}

/** AWS figures per bucket (docs/reference/cloud-apis.md). CloudTrail LookupEvents: 2 requests per second. */
export const AWS_BUCKET_FIGURES: Record<string, BucketFigures> = {
  'cluster-read': { burst: 50, refillPerSecond: 20 },
  'cluster-resource-read': { burst: 100, refillPerSecond: 20 },
  'service-read': { burst: 100, refillPerSecond: 20 },
  'task-definition-read': { burst: 50, refillPerSecond: 20 },
  'tag-read': { burst: 50, refillPerSecond: 20 },
  'cloudtrail-lookup': { burst: 2, refillPerSecond: 2 },
};

/** Which bucket each emulated action draws from. */
export const ACTION_BUCKET: Record<string, string> = {
  DescribeClusters: 'cluster-read',
  ListClusters: 'cluster-read',
  DescribeTasks: 'cluster-resource-read',
  DescribeContainerInstances: 'cluster-resource-read',
  ListTasks: 'cluster-resource-read',
  ListContainerInstances: 'cluster-resource-read',
  DescribeServices: 'service-read',
  ListServices: 'service-read',
  DescribeTaskDefinition: 'task-definition-read',
  ListTaskDefinitions: 'task-definition-read',
  ListTagsForResource: 'tag-read',
  LookupEvents: 'cloudtrail-lookup',
};

export interface ThrottlingOptions {
  enabled: boolean;
  /** Multiplies burst and refill (0.1 = a tenth of AWS's figures). */
  scale: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class ThrottleBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly options: ThrottlingOptions,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `action` in (account, region); false when the bucket is empty. */
  take(account: string, region: string, action: string): boolean {
    if (!this.options.enabled) return true;
    const name = ACTION_BUCKET[action];
    if (name === undefined) return true;
    const figures = AWS_BUCKET_FIGURES[name];
    if (!figures) return true;
    const burst = Math.max(1, figures.burst * this.options.scale);
    const refill = figures.refillPerSecond * this.options.scale;
    const id = `${account}/${region}/${name}`;
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
