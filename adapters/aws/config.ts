/**
 * Config fields every AWS provider's section shares: account and region formats, the credentials
 * (the default chain, assume-role with an external id, or static keys by `${VAR}` reference), the
 * endpoint overrides, CloudTrail polling, and the change feed mode (CloudTrail + the provider's
 * poll, or EventBridge events through an SQS queue with the poll as a slow reconciliation).
 * Validated with zod so every error names the field path; CloudTrail's documented 2 requests per
 * second is the ceiling of its rate.
 */
import { z } from 'zod';
import { durationMs, httpUrl } from '../../src/config/fields.js';
import type { DurationRange } from '../../src/config/fields.js';

export const AWS_REGION_RE = /^(?:[a-z]{2}|us-gov|us-iso[a-z]?|cn)-[a-z]+-[0-9]$/;
export const AWS_ACCOUNT_RE = /^[0-9]{12}$/;
const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;

export const awsCredentials = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('default') }),
  z.strictObject({
    source: z.literal('assumeRole'),
    roleArn: z
      .string()
      .regex(ROLE_ARN_RE, { error: 'not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)' }),
    /** Secret by reference: `${VAR}`. */
    externalId: z.string().min(2).max(1224),
    sessionName: z
      .string()
      .regex(/^[\w+=,.@-]{2,64}$/)
      .default('sightline'),
  }),
  /** Static keys, by `${VAR}` reference only (emulator / tests). */
  z.strictObject({
    source: z.literal('static'),
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
    sessionToken: z.string().optional(),
  }),
]);

export type AwsCredentialsConfig = z.infer<typeof awsCredentials>;

/** Defaults of the shared blocks, with units in their names. */
export const awsDefaults = {
  cloudTrailPollIntervalMs: 60_000,
  cloudTrailOverlapMs: 20 * 60 * 1000,
  cloudTrailMaxRequestsPerSecond: 1,
  /** Pushed mode: the provider's poll becomes a reconciliation this often (AWS's own ECS event-stream reference used 20 min). */
  changeFeedReconcileIntervalMs: 10 * 60 * 1000,
  /** Pushed mode: a queue silent this long while the reconciliation finds changes is taken as broken. */
  changeFeedSilenceMs: 10 * 60 * 1000,
  /** Pushed mode: receives failing this long switch to polling. */
  changeFeedWatchdogMs: 60_000,
} as const;

export const awsDurationRanges = {
  pollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  overlapMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  reconcileIntervalMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  silenceMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  watchdogMs: { minMs: 1_000, maxMs: 3_600_000 },
} as const satisfies Record<string, DurationRange>;

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` or any http(s) URL ending in a queue name. */
const QUEUE_URL_RE = /^https?:\/\/[^/]+\/(\d{12})\/[A-Za-z0-9_{}-]{1,80}$/;

/** The fields every AWS section starts with: account, regions, credentials. */
export const awsIdentityFields = {
  account: z.string().regex(AWS_ACCOUNT_RE, { error: 'must be a 12-digit AWS account id' }),
  regions: z.array(z.string().regex(AWS_REGION_RE, { error: 'not an AWS region (e.g. us-east-1)' })).min(1),
  credentials: awsCredentials.default({ source: 'default' }),
};

/** Endpoint overrides (emulator) of CloudTrail and SQS; a provider adds its own API's next to them. */
export const awsEndpointFields = { cloudtrail: httpUrl.optional(), sqs: httpUrl.optional() };

/** CloudTrail polling. ReadOnly by default: EventSource also returns our own List/Describe calls. */
export const awsCloudTrail = z
  .strictObject({
    lookupAttribute: z.enum(['EventSource', 'ReadOnly']).default('ReadOnly'),
    pollIntervalMs: durationMs('pollIntervalMs', awsDurationRanges.pollIntervalMs).default(
      awsDefaults.cloudTrailPollIntervalMs,
    ),
    overlapMs: durationMs('overlapMs', awsDurationRanges.overlapMs).default(awsDefaults.cloudTrailOverlapMs),
    maxRequestsPerSecond: z
      .number()
      .positive()
      .max(2, { error: 'CloudTrail allows at most 2 requests per second per account and region' })
      .default(awsDefaults.cloudTrailMaxRequestsPerSecond),
  })
  .default({
    lookupAttribute: 'ReadOnly',
    pollIntervalMs: awsDefaults.cloudTrailPollIntervalMs,
    overlapMs: awsDefaults.cloudTrailOverlapMs,
    maxRequestsPerSecond: awsDefaults.cloudTrailMaxRequestsPerSecond,
  });

/**
 * The change feed mode: `cloudtrail` (CloudTrail + the provider's poll) or `sqs` (EventBridge events
 * through a queue, `{region}` in `queueUrl` replaced by each region; `cloudTrail` keeps reading
 * CloudTrail for what events do not carry). `exampleQueue` names a queue in the error message.
 */
export function awsChangeFeed(exampleQueue: string) {
  return z
    .strictObject({
      source: z.enum(['cloudtrail', 'sqs']).default('cloudtrail'),
      queueUrl: z
        .string()
        .regex(QUEUE_URL_RE, {
          error: `must be an SQS queue URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/${exampleQueue}`,
        })
        .optional(),
      cloudTrail: z.boolean().default(true),
      reconcileIntervalMs: durationMs('reconcileIntervalMs', awsDurationRanges.reconcileIntervalMs).default(
        awsDefaults.changeFeedReconcileIntervalMs,
      ),
      silenceMs: durationMs('silenceMs', awsDurationRanges.silenceMs).default(
        awsDefaults.changeFeedSilenceMs,
      ),
      watchdogMs: durationMs('watchdogMs', awsDurationRanges.watchdogMs).default(
        awsDefaults.changeFeedWatchdogMs,
      ),
    })
    .default({
      source: 'cloudtrail',
      cloudTrail: true,
      reconcileIntervalMs: awsDefaults.changeFeedReconcileIntervalMs,
      silenceMs: awsDefaults.changeFeedSilenceMs,
      watchdogMs: awsDefaults.changeFeedWatchdogMs,
    });
}

export type AwsChangeFeedConfig = z.infer<ReturnType<typeof awsChangeFeed>>;

/** The section-level checks of the change feed (a superRefine): the queue URL and the mode agree. */
export function checkAwsChangeFeed(
  c: { regions: string[]; changeFeed: AwsChangeFeedConfig },
  ctx: z.RefinementCtx,
): void {
  const feed = c.changeFeed;
  const issue = (message: string): void =>
    ctx.addIssue({ code: 'custom', path: ['changeFeed', 'queueUrl'], message });
  if (feed.source !== 'sqs') {
    if (feed.queueUrl !== undefined) issue('queueUrl is read only with source: sqs');
    return;
  }
  if (feed.queueUrl === undefined) {
    issue('source: sqs needs the queueUrl of the events queue');
    return;
  }
  if (c.regions.length > 1 && !feed.queueUrl.includes('{region}'))
    issue(
      'with several regions the queueUrl must contain {region} (one queue per region: EventBridge rules are regional)',
    );
}

/** The queue URL of `region` (pushed mode). */
export function queueUrlFor(config: { changeFeed: AwsChangeFeedConfig }, region: string): string | undefined {
  return config.changeFeed.queueUrl?.replaceAll('{region}', region);
}
