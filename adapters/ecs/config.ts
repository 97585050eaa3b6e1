/**
 * The `providers.ecs` section of the config file: account, regions, credentials (default chain,
 * assume-role, or static keys by `${VAR}` reference), endpoint overrides (emulator), CloudTrail
 * polling and the task poll interval, with their defaults. Validated with zod so every error names
 * the field path; CloudTrail's documented 2 requests per second is the ceiling of its rate.
 */
import { z } from 'zod';
import { durationMs, httpUrl } from '../../src/config/fields.js';
import type { DurationRange } from '../../src/config/fields.js';
import { AWS_ACCOUNT_RE, AWS_REGION_RE, awsCredentials } from '../aws/config.js';

/** Default intervals and rates of the section, with units in their names. */
export const ecsDefaults = {
  cloudTrailPollIntervalMs: 60_000,
  cloudTrailOverlapMs: 20 * 60 * 1000,
  cloudTrailMaxRequestsPerSecond: 1,
  taskPollIntervalMs: 5_000,
} as const;

const ecsDurationRanges = {
  pollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  overlapMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  taskPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
} as const satisfies Record<string, DurationRange>;

export const ecsSchema = z.strictObject({
  account: z.string().regex(AWS_ACCOUNT_RE, { error: 'must be a 12-digit AWS account id' }),
  regions: z.array(z.string().regex(AWS_REGION_RE, { error: 'not an AWS region (e.g. us-east-1)' })).min(1),
  credentials: awsCredentials.default({ source: 'default' }),
  endpoints: z.strictObject({ ecs: httpUrl.optional(), cloudtrail: httpUrl.optional() }).default({}),
  cloudTrail: z
    .strictObject({
      /** ReadOnly=false by default: EventSource=ecs.amazonaws.com also returns our own List/Describe calls (adapters/ecs/README.md). */
      lookupAttribute: z.enum(['EventSource', 'ReadOnly']).default('ReadOnly'),
      pollIntervalMs: durationMs('pollIntervalMs', ecsDurationRanges.pollIntervalMs).default(
        ecsDefaults.cloudTrailPollIntervalMs,
      ),
      overlapMs: durationMs('overlapMs', ecsDurationRanges.overlapMs).default(
        ecsDefaults.cloudTrailOverlapMs,
      ),
      maxRequestsPerSecond: z
        .number()
        .positive()
        .max(2, { error: 'CloudTrail allows at most 2 requests per second per account and region' })
        .default(ecsDefaults.cloudTrailMaxRequestsPerSecond),
    })
    .default({
      lookupAttribute: 'ReadOnly',
      pollIntervalMs: ecsDefaults.cloudTrailPollIntervalMs,
      overlapMs: ecsDefaults.cloudTrailOverlapMs,
      maxRequestsPerSecond: ecsDefaults.cloudTrailMaxRequestsPerSecond,
    }),
  taskPollIntervalMs: durationMs('taskPollIntervalMs', ecsDurationRanges.taskPollIntervalMs).default(
    ecsDefaults.taskPollIntervalMs,
  ),
});

export type EcsConfig = z.infer<typeof ecsSchema>;
