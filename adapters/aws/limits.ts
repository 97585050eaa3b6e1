/**
 * CloudTrail's documented API rate limit as a token bucket (docs/reference/cloud-apis.md), for
 * every AWS provider whose change feed reads LookupEvents (adapters/aws/cloudtrail-feed.ts). The
 * bucket is per account and region and shared with everything else the customer runs; the daemon's
 * `ApiBudget` applies its safety fraction on top. AWS calls take it through `awsCallPolicy`.
 *
 * SQS (the pushed change feed, adapters/aws/sqs-feed.ts) has no documented per-account call rate
 * for standard queues; its bucket only keeps a runaway loop from flooding the queue's endpoint.
 */
import type { BucketLimit } from '../../src/provider/registration.js';

/** The budget bucket of CloudTrail LookupEvents. */
export const CLOUDTRAIL_BUCKET = 'cloudtrail:lookup-events';

/** LookupEvents: 2 requests per second per account and region. */
export const CLOUDTRAIL_BUCKETS: Record<string, BucketLimit> = {
  [CLOUDTRAIL_BUCKET]: { burst: 2, refillPerSecond: 2 },
};

/** The budget bucket of SQS message calls (ReceiveMessage, DeleteMessageBatch, ...). */
export const SQS_BUCKET = 'sqs:messages';

/** The SQS operations the pushed feed calls (each must be in config/iam/ecs-events-policy.json). */
export const SQS_OPERATIONS: ReadonlySet<string> = new Set([
  'ReceiveMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibilityBatch',
  'GetQueueAttributes',
]);

/** SQS: no documented limit for standard queues; 100 calls a second per account and region here. */
export const SQS_BUCKETS: Record<string, BucketLimit> = {
  [SQS_BUCKET]: { burst: 100, refillPerSecond: 100 },
};
