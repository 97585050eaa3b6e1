/**
 * Cloud Run's API rate limits as token buckets (docs/reference/cloud-apis.md), registered with the
 * daemon's `ApiBudget`, which applies its own safety fraction on top. The Admin API quota is per
 * region, the Logging read quota per project; both are shared with everything else the customer runs.
 */
import type { BucketLimit } from '../../src/provider/registration.js';

/** The bucket a TailLogEntries open takes its token from. */
export const LOGGING_TAIL_BUCKET = 'logging:tail';

/** The bucket of Pub/Sub administrator operations (GetSubscription). */
export const PUBSUB_ADMIN_BUCKET = 'pubsub:admin';

export const CLOUD_RUN_BUCKETS: Record<string, BucketLimit> = {
  // GUESS: Cloud Run Admin API read quota taken as 1000 requests per minute per region
  // (~16.7/s); burst 50 is our choice, not a documented figure. Verify against the project's quota page.
  'run:read': { burst: 50, refillPerSecond: 16 },
  // Cloud Logging: about 60 read requests per minute per project (docs/reference/cloud-apis.md: "verify").
  'logging:read': { burst: 5, refillPerSecond: 1 },
  // Opening a TailLogEntries session is limited by sessions (10 live per project), not by the read
  // rate: its own bucket, so a tail (re)opens without queueing behind list and catch-up reads.
  [LOGGING_TAIL_BUCKET]: { burst: 10, refillPerSecond: 1 },
  // Pub/Sub administrator operations (GetSubscription, the pushed feed's health probe once per
  // StreamingPull session) have their own per-project quota, apart from Cloud Run's and Logging's:
  // GUESS: a small bucket of our choosing, far below it (verify on the project's quota page), so
  // a feed that reconnects often never costs the Cloud Run read budget anything.
  [PUBSUB_ADMIN_BUCKET]: { burst: 10, refillPerSecond: 1 },
};
