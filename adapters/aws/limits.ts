/**
 * CloudTrail's documented API rate limit as a token bucket (docs/reference/cloud-apis.md), for
 * every AWS provider whose change feed reads LookupEvents (adapters/aws/cloudtrail-feed.ts). The
 * bucket is per account and region and shared with everything else the customer runs; the daemon's
 * `ApiBudget` applies its safety fraction on top. AWS calls take it through `awsCallPolicy`.
 */
import type { BucketLimit } from '../../src/provider/registration.js';

/** The budget bucket of CloudTrail LookupEvents. */
export const CLOUDTRAIL_BUCKET = 'cloudtrail:lookup-events';

/** LookupEvents: 2 requests per second per account and region. */
export const CLOUDTRAIL_BUCKETS: Record<string, BucketLimit> = {
  [CLOUDTRAIL_BUCKET]: { burst: 2, refillPerSecond: 2 },
};
