/**
 * The `providers.ecs` section of the config file: the shared AWS blocks (adapters/aws/config.ts:
 * account, regions, credentials, endpoint overrides, CloudTrail polling, the change feed mode) and
 * the task poll interval (in pushed mode the task poll is the slow reconciliation), with their
 * defaults. Validated with zod so every error names the field path.
 */
import { z } from 'zod';
import { durationMs, httpUrl } from '../../src/config/fields.js';
import {
  awsChangeFeed,
  awsCloudTrail,
  awsDefaults,
  awsEndpointFields,
  awsIdentityFields,
  checkAwsChangeFeed,
} from '../aws/config.js';

export { queueUrlFor } from '../aws/config.js';

/** Default intervals and rates of the section, with units in their names. */
export const ecsDefaults = {
  ...awsDefaults,
  taskPollIntervalMs: 5_000,
} as const;

const TASK_POLL_INTERVAL_RANGE = { minMs: 100, maxMs: 3_600_000 };

export const ecsSchema = z
  .strictObject({
    ...awsIdentityFields,
    endpoints: z.strictObject({ ecs: httpUrl.optional(), ...awsEndpointFields }).default({}),
    cloudTrail: awsCloudTrail,
    taskPollIntervalMs: durationMs('taskPollIntervalMs', TASK_POLL_INTERVAL_RANGE).default(
      ecsDefaults.taskPollIntervalMs,
    ),
    /** `cloudtrail`: CloudTrail + the ListTasks poll; `sqs`: EventBridge events through an SQS queue. */
    changeFeed: awsChangeFeed('sightline-ecs-events'),
  })
  .superRefine(checkAwsChangeFeed);

export type EcsConfig = z.infer<typeof ecsSchema>;
