/**
 * ECS's documented API rate limits as token buckets (docs/reference/cloud-apis.md),
 * registered with the daemon's `ApiBudget` (with CloudTrail's, adapters/aws/limits.ts), which applies its own safety fraction on top. ECS
 * buckets are per account and region and shared with everything else the customer runs;
 * `ecsBucketFor` maps an ECS action (or SDK command name) to its bucket. An action outside the
 * documented table maps to `ecs:unclassified`, which has no limit defined here (ApiBudget does not
 * limit unknown buckets): define one if you use such calls.
 */
import type { BucketLimit } from '../../src/provider/registration.js';

export const ECS_BUCKETS: Record<string, BucketLimit> = {
  'ecs:cluster-read': { burst: 50, refillPerSecond: 20 },
  'ecs:cluster-resource-read': { burst: 100, refillPerSecond: 20 },
  'ecs:service-read': { burst: 100, refillPerSecond: 20 },
  'ecs:task-definition-read': { burst: 50, refillPerSecond: 20 },
  'ecs:tag-read': { burst: 50, refillPerSecond: 20 },
};

const ECS_ACTION_BUCKET: Record<string, string> = {
  DescribeClusters: 'ecs:cluster-read',
  ListClusters: 'ecs:cluster-read',
  DescribeTasks: 'ecs:cluster-resource-read',
  DescribeContainerInstances: 'ecs:cluster-resource-read',
  ListTasks: 'ecs:cluster-resource-read',
  ListContainerInstances: 'ecs:cluster-resource-read',
  DescribeServices: 'ecs:service-read',
  ListServices: 'ecs:service-read',
  // Not in the documented table; assumed to share the service bucket (guess).
  ListServicesByNamespace: 'ecs:service-read',
  DescribeServiceRevisions: 'ecs:service-read',
  DescribeServiceDeployments: 'ecs:service-read',
  ListServiceDeployments: 'ecs:service-read',
  DescribeTaskDefinition: 'ecs:task-definition-read',
  ListTaskDefinitions: 'ecs:task-definition-read',
  ListTaskDefinitionFamilies: 'ecs:task-definition-read',
  ListTagsForResource: 'ecs:tag-read',
};

const ECS_UNCLASSIFIED_BUCKET = 'ecs:unclassified';

/** `DescribeTasks`, `DescribeTasksCommand` or `ecs:DescribeTasks` -> `ecs:cluster-resource-read`. */
export function ecsBucketFor(operation: string): string {
  let name = operation.startsWith('ecs:') ? operation.slice(4) : operation;
  if (name.endsWith('Command')) name = name.slice(0, -'Command'.length);
  return ECS_ACTION_BUCKET[name] ?? ECS_UNCLASSIFIED_BUCKET;
}
