/**
 * The `providers.lambda` section of the config file: the shared AWS blocks (adapters/aws/config.ts:
 * account, regions, credentials, endpoint overrides, CloudTrail polling, the change feed mode:
 * CloudTrail + the ListFunctions poll, or Lambda's EventBridge state change events through an SQS
 * queue with the poll as a slow reconciliation) and the ListFunctions poll interval, with their
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
export const lambdaDefaults = {
  ...awsDefaults,
  /** ListFunctions (50 functions a call) compared by LastModified and CodeSha256. */
  functionPollIntervalMs: 60_000,
} as const;

const FUNCTION_POLL_INTERVAL_RANGE = { minMs: 100, maxMs: 3_600_000 };

export const lambdaSchema = z
  .strictObject({
    ...awsIdentityFields,
    endpoints: z.strictObject({ lambda: httpUrl.optional(), ...awsEndpointFields }).default({}),
    cloudTrail: awsCloudTrail,
    functionPollIntervalMs: durationMs('functionPollIntervalMs', FUNCTION_POLL_INTERVAL_RANGE).default(
      lambdaDefaults.functionPollIntervalMs,
    ),
    /** With sqs, CloudTrail keeps what state change events do not carry (aliases, tags). */
    changeFeed: awsChangeFeed('sightline-lambda-events'),
  })
  .superRefine(checkAwsChangeFeed);

export type LambdaConfig = z.infer<typeof lambdaSchema>;
