/**
 * The `providers.ecs` section of the config file: account, regions, credentials (default chain,
 * assume-role, or static keys by `${VAR}` reference), endpoint overrides (emulator), CloudTrail
 * polling, the task poll interval and the change feed mode (`changeFeed`: CloudTrail + task poll, or
 * the pushed EventBridge -> SQS feed with a slow reconciliation), with their defaults. Validated with zod so every error names
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
  /** Pushed mode: the ListTasks reconciliation (AWS's own ECS event-stream reference used 20 min). */
  changeFeedReconcileIntervalMs: 10 * 60 * 1000,
  /** Pushed mode: a queue silent this long while the reconciliation finds changes is taken as broken. */
  changeFeedSilenceMs: 10 * 60 * 1000,
  /** Pushed mode: receives failing this long switch to polling. */
  changeFeedWatchdogMs: 60_000,
} as const;

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` or any http(s) URL ending in a queue name. */
const QUEUE_URL_RE = /^https?:\/\/[^/]+\/(\d{12})\/[A-Za-z0-9_{}-]{1,80}$/;

const ecsDurationRanges = {
  pollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  overlapMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  taskPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  reconcileIntervalMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  silenceMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  watchdogMs: { minMs: 1_000, maxMs: 3_600_000 },
} as const satisfies Record<string, DurationRange>;

export const ecsSchema = z
  .strictObject({
    account: z.string().regex(AWS_ACCOUNT_RE, { error: 'must be a 12-digit AWS account id' }),
    regions: z.array(z.string().regex(AWS_REGION_RE, { error: 'not an AWS region (e.g. us-east-1)' })).min(1),
    credentials: awsCredentials.default({ source: 'default' }),
    endpoints: z
      .strictObject({ ecs: httpUrl.optional(), cloudtrail: httpUrl.optional(), sqs: httpUrl.optional() })
      .default({}),
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
    changeFeed: z
      .strictObject({
        /** `cloudtrail`: CloudTrail + the ListTasks poll; `sqs`: EventBridge events through an SQS queue. */
        source: z.enum(['cloudtrail', 'sqs']).default('cloudtrail'),
        /** The queue (sqs); `{region}` is replaced by each configured region. */
        queueUrl: z
          .string()
          .regex(QUEUE_URL_RE, {
            error:
              'must be an SQS queue URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/sightline-ecs-events',
          })
          .optional(),
        /** With sqs: keep reading CloudTrail for what events do not carry (tag changes). */
        cloudTrail: z.boolean().default(true),
        reconcileIntervalMs: durationMs('reconcileIntervalMs', ecsDurationRanges.reconcileIntervalMs).default(
          ecsDefaults.changeFeedReconcileIntervalMs,
        ),
        silenceMs: durationMs('silenceMs', ecsDurationRanges.silenceMs).default(
          ecsDefaults.changeFeedSilenceMs,
        ),
        watchdogMs: durationMs('watchdogMs', ecsDurationRanges.watchdogMs).default(
          ecsDefaults.changeFeedWatchdogMs,
        ),
      })
      .default({
        source: 'cloudtrail',
        cloudTrail: true,
        reconcileIntervalMs: ecsDefaults.changeFeedReconcileIntervalMs,
        silenceMs: ecsDefaults.changeFeedSilenceMs,
        watchdogMs: ecsDefaults.changeFeedWatchdogMs,
      }),
  })
  .superRefine((c, ctx) => {
    const feed = c.changeFeed;
    if (feed.source !== 'sqs') {
      if (feed.queueUrl !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['changeFeed', 'queueUrl'],
          message: 'queueUrl is read only with source: sqs',
        });
      return;
    }
    if (feed.queueUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['changeFeed', 'queueUrl'],
        message: 'source: sqs needs the queueUrl of the events queue',
      });
      return;
    }
    if (c.regions.length > 1 && !feed.queueUrl.includes('{region}'))
      ctx.addIssue({
        code: 'custom',
        path: ['changeFeed', 'queueUrl'],
        message:
          'with several regions the queueUrl must contain {region} (one queue per region: EventBridge rules are regional)',
      });
  });

/** The queue URL of `region` (pushed mode). */
export function queueUrlFor(config: EcsConfig, region: string): string | undefined {
  return config.changeFeed.queueUrl?.replaceAll('{region}', region);
}

export type EcsConfig = z.infer<typeof ecsSchema>;
