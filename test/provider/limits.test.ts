import { describe, expect, it } from 'vitest';
import { CLOUD_RUN_BUCKETS } from '../../adapters/cloudrun/limits.js';
import { CLOUD_RUN_CALLS } from '../../adapters/cloudrun/call-policy.js';
import { CLOUDTRAIL_BUCKETS, SQS_BUCKETS } from '../../adapters/aws/limits.js';
import { ECS_BUCKETS, ecsBucketFor } from '../../adapters/ecs/limits.js';
import { providerLimits } from '../../src/daemon/adapters.js';

describe('provider bucket tables', () => {
  it('carries the documented ECS, CloudTrail and Cloud Run limits', () => {
    expect(ECS_BUCKETS['ecs:cluster-read']).toEqual({ burst: 50, refillPerSecond: 20 });
    expect(ECS_BUCKETS['ecs:cluster-resource-read']).toEqual({ burst: 100, refillPerSecond: 20 });
    expect(ECS_BUCKETS['ecs:service-read']).toEqual({ burst: 100, refillPerSecond: 20 });
    expect(ECS_BUCKETS['ecs:task-definition-read']).toEqual({ burst: 50, refillPerSecond: 20 });
    expect(ECS_BUCKETS['ecs:tag-read']).toEqual({ burst: 50, refillPerSecond: 20 });
    expect(CLOUDTRAIL_BUCKETS['cloudtrail:lookup-events']).toEqual({ burst: 2, refillPerSecond: 2 });
    expect(CLOUD_RUN_BUCKETS['run:read']).toEqual({ burst: 50, refillPerSecond: 16 });
    expect(CLOUD_RUN_BUCKETS['logging:read']).toEqual({ burst: 5, refillPerSecond: 1 });
  });

  it('maps ECS actions (plain, SDK command or IAM form) to their bucket', () => {
    expect(ecsBucketFor('ListClusters')).toBe('ecs:cluster-read');
    expect(ecsBucketFor('DescribeClusters')).toBe('ecs:cluster-read');
    expect(ecsBucketFor('DescribeTasksCommand')).toBe('ecs:cluster-resource-read');
    expect(ecsBucketFor('ecs:ListContainerInstances')).toBe('ecs:cluster-resource-read');
    expect(ecsBucketFor('ListServices')).toBe('ecs:service-read');
    expect(ecsBucketFor('DescribeTaskDefinition')).toBe('ecs:task-definition-read');
    expect(ecsBucketFor('ListTagsForResource')).toBe('ecs:tag-read');
    expect(ecsBucketFor('RunTask')).toBe('ecs:unclassified');
  });

  it("takes Cloud Run, Logging and Pub/Sub admin calls from their own buckets (the feed's probe never costs a Cloud Run read)", () => {
    expect(CLOUD_RUN_CALLS.bucketOf('ListServices')).toBe('run:read');
    expect(CLOUD_RUN_CALLS.bucketOf('GetRevision')).toBe('run:read');
    expect(CLOUD_RUN_CALLS.bucketOf('ListLogEntries')).toBe('logging:read');
    expect(CLOUD_RUN_CALLS.bucketOf('GetSubscription')).toBe('pubsub:admin');
    expect(CLOUD_RUN_BUCKETS['pubsub:admin']).toBeDefined();
  });

  it('gives the budget the buckets of every registered provider', () => {
    expect(providerLimits()).toEqual({
      ...CLOUD_RUN_BUCKETS,
      ...ECS_BUCKETS,
      ...CLOUDTRAIL_BUCKETS,
      ...SQS_BUCKETS,
    });
  });
});
