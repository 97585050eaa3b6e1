/**
 * The `providers.lambda` section of the config file: account, regions, credentials (the shared AWS
 * block: default chain, assume-role, or static keys by `${VAR}` reference), endpoint overrides
 * (emulator), CloudTrail polling, the ListFunctions poll and the change feed mode (`changeFeed`:
 * CloudTrail + the poll, or Lambda's EventBridge state change events through an SQS queue with the
 * poll as a slow reconciliation), with their defaults. Validated with zod so every error names the
 * field path; CloudTrail's documented 2 requests per second is the ceiling of its rate.
 */
import { z } from 'zod';
import { durationMs, httpUrl } from '../../src/config/fields.js';
import type { DurationRange } from '../../src/config/fields.js';
import { AWS_ACCOUNT_RE, AWS_REGION_RE, awsCredentials } from '../aws/config.js';

/** Default intervals and rates of the section, with units in their names. */
export const lambdaDefaults = {
  cloudTrailPollIntervalMs: 60_000,
  cloudTrailOverlapMs: 20 * 60 * 1000,
  cloudTrailMaxRequestsPerSecond: 1,
  /** ListFunctions (50 functions a call) compared by LastModified and CodeSha256. */
  functionPollIntervalMs: 60_000,
  /** Pushed mode: the ListFunctions reconciliation. */
  changeFeedReconcileIntervalMs: 10 * 60 * 1000,
  changeFeedSilenceMs: 10 * 60 * 1000,
  changeFeedWatchdogMs: 60_000,
} as const;

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` or any http(s) URL ending in a queue name. */
const QUEUE_URL_RE = /^https?:\/\/[^/]+\/(\d{12})\/[A-Za-z0-9_{}-]{1,80}$/;

const ranges = {
  pollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  overlapMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  functionPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  reconcileIntervalMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  silenceMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  watchdogMs: { minMs: 1_000, maxMs: 3_600_000 },
} as const satisfies Record<string, DurationRange>;

export const lambdaSchema = z
  .strictObject({
    account: z.string().regex(AWS_ACCOUNT_RE, { error: 'must be a 12-digit AWS account id' }),
    regions: z.array(z.string().regex(AWS_REGION_RE, { error: 'not an AWS region (e.g. us-east-1)' })).min(1),
    credentials: awsCredentials.default({ source: 'default' }),
    endpoints: z
      .strictObject({ lambda: httpUrl.optional(), cloudtrail: httpUrl.optional(), sqs: httpUrl.optional() })
      .default({}),
    cloudTrail: z
      .strictObject({
        lookupAttribute: z.enum(['EventSource', 'ReadOnly']).default('ReadOnly'),
        pollIntervalMs: durationMs('pollIntervalMs', ranges.pollIntervalMs).default(
          lambdaDefaults.cloudTrailPollIntervalMs,
        ),
        overlapMs: durationMs('overlapMs', ranges.overlapMs).default(lambdaDefaults.cloudTrailOverlapMs),
        maxRequestsPerSecond: z
          .number()
          .positive()
          .max(2, { error: 'CloudTrail allows at most 2 requests per second per account and region' })
          .default(lambdaDefaults.cloudTrailMaxRequestsPerSecond),
      })
      .default({
        lookupAttribute: 'ReadOnly',
        pollIntervalMs: lambdaDefaults.cloudTrailPollIntervalMs,
        overlapMs: lambdaDefaults.cloudTrailOverlapMs,
        maxRequestsPerSecond: lambdaDefaults.cloudTrailMaxRequestsPerSecond,
      }),
    functionPollIntervalMs: durationMs('functionPollIntervalMs', ranges.functionPollIntervalMs).default(
      lambdaDefaults.functionPollIntervalMs,
    ),
    changeFeed: z
      .strictObject({
        /** `cloudtrail`: CloudTrail + the ListFunctions poll; `sqs`: Lambda's EventBridge events through a queue. */
        source: z.enum(['cloudtrail', 'sqs']).default('cloudtrail'),
        /** The queue (sqs); `{region}` is replaced by each configured region. */
        queueUrl: z
          .string()
          .regex(QUEUE_URL_RE, {
            error:
              'must be an SQS queue URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/sightline-lambda-events',
          })
          .optional(),
        /** With sqs: keep reading CloudTrail for what state change events do not carry (aliases, tags). */
        cloudTrail: z.boolean().default(true),
        reconcileIntervalMs: durationMs('reconcileIntervalMs', ranges.reconcileIntervalMs).default(
          lambdaDefaults.changeFeedReconcileIntervalMs,
        ),
        silenceMs: durationMs('silenceMs', ranges.silenceMs).default(lambdaDefaults.changeFeedSilenceMs),
        watchdogMs: durationMs('watchdogMs', ranges.watchdogMs).default(lambdaDefaults.changeFeedWatchdogMs),
      })
      .default({
        source: 'cloudtrail',
        cloudTrail: true,
        reconcileIntervalMs: lambdaDefaults.changeFeedReconcileIntervalMs,
        silenceMs: lambdaDefaults.changeFeedSilenceMs,
        watchdogMs: lambdaDefaults.changeFeedWatchdogMs,
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

export type LambdaConfig = z.infer<typeof lambdaSchema>;

/** The queue URL of `region` (pushed mode). */
export function queueUrlFor(config: LambdaConfig, region: string): string | undefined {
  return config.changeFeed.queueUrl?.replaceAll('{region}', region);
}
