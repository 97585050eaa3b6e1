/**
 * The `providers.cloudRun` section of the config file: projects, regions, credentials, endpoint
 * overrides (emulator), the adapter's intervals and the change feed (`changeFeed`: the audit tail, or
 * a Log Router sink's Pub/Sub subscription), with their defaults. Validated with zod so every
 * error names the field path; `none` credentials are refused unless the endpoints are insecure (an
 * emulator), since Google's endpoints would refuse every call.
 */
import { z } from 'zod';
import { durationMs, hostPort } from '../../src/config/fields.js';
import type { DurationRange } from '../../src/config/fields.js';

const GCP_REGION_RE = /^[a-z]+-[a-z]+[0-9]+$/;
const GCP_PROJECT_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** Default intervals of the section, with units in their names. */
export const cloudRunDefaults = {
  tailBufferWindowMs: 2_000,
  /** ListLogEntries fallback polling when tailing is refused. */
  logPollIntervalMs: 5_000,
  digestRetryIntervalMs: 60_000,
  /**
   * The cheap list poll of each kind while the project's audit tail is live: the tail detects
   * changes within seconds, the poll is a safety net for what audit logs miss. While the tail is
   * down the poll runs every `watch.clusterPollIntervalMs` again.
   */
  livePollIntervalMs: 300_000,
} as const;

/** Defaults of `changeFeed` in pushed mode (`source: pubsub`). */
export const changeFeedDefaults = {
  /** The Pub/Sub stream down this long means fallback to the tail. */
  silenceMs: 60_000,
  /** Messages held (delivered, not yet durable) at most; the stream waits beyond. */
  maxOutstandingMessages: 1_000,
} as const;

const SUBSCRIPTION_RE =
  /^projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/subscriptions\/([A-Za-z][A-Za-z0-9._~+%-]{2,254})$/;

/**
 * Where Cloud Run changes come from: `tail` (each project's audit log, Logging TailLogEntries) or
 * `pubsub` (a Log Router sink's subscription, with the tail as fallback while it fails).
 */
const changeFeedSchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('tail') }),
  z.strictObject({
    source: z.literal('pubsub'),
    subscription: z.string().regex(SUBSCRIPTION_RE, {
      error: 'must be a full subscription name: projects/<project>/subscriptions/<subscription>',
    }),
    silenceMs: durationMs('silenceMs', { minMs: 1_000, maxMs: 3_600_000 }).default(
      changeFeedDefaults.silenceMs,
    ),
    maxOutstandingMessages: z
      .number()
      .int({ error: 'must be a whole number of messages' })
      .min(1, { error: 'must be at least 1' })
      .max(100_000, { error: 'must be at most 100000' })
      .default(changeFeedDefaults.maxOutstandingMessages),
  }),
]);

const cloudRunDurationRanges = {
  tailBufferWindowMs: { minMs: 0, maxMs: 60_000 },
  logPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  digestRetryIntervalMs: { minMs: 100, maxMs: 24 * 3_600_000 },
  livePollIntervalMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
} as const satisfies Record<string, DurationRange>;

const cloudRunCredentials = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('adc') }),
  z.strictObject({ source: z.literal('keyFile'), keyFile: z.string().min(1) }),
  z.strictObject({
    source: z.literal('impersonate'),
    serviceAccount: z.string().email({ error: 'must be a service account e-mail' }),
  }),
  /** Emulator only: no credentials at all, plaintext gRPC. */
  z.strictObject({ source: z.literal('none') }),
]);

export const cloudRunSchema = z
  .strictObject({
    projects: z.array(z.string().regex(GCP_PROJECT_RE, { error: 'not a GCP project id' })).min(1),
    regions: z.union([
      z.literal('all'),
      z.array(z.string().regex(GCP_REGION_RE, { error: 'not a GCP region (e.g. us-central1)' })).min(1),
    ]),
    credentials: cloudRunCredentials.default({ source: 'adc' }),
    endpoints: z
      .strictObject({
        /** Run Admin v2 gRPC host:port. */
        run: hostPort.optional(),
        /** Logging v2 gRPC host:port. */
        logging: hostPort.optional(),
        /** Pub/Sub v1 gRPC host:port (pushed change feed). */
        pubsub: hostPort.optional(),
        /** Base URL of the v1 (Knative) REST API; `{region}` is replaced. */
        runV1: z.string().min(1).optional(),
        /** Plaintext gRPC (emulator only). */
        insecure: z.boolean().default(false),
      })
      .default({ insecure: false }),
    tailBufferWindowMs: durationMs('tailBufferWindowMs', cloudRunDurationRanges.tailBufferWindowMs).default(
      cloudRunDefaults.tailBufferWindowMs,
    ),
    logPollIntervalMs: durationMs('logPollIntervalMs', cloudRunDurationRanges.logPollIntervalMs).default(
      cloudRunDefaults.logPollIntervalMs,
    ),
    digestRetryIntervalMs: durationMs(
      'digestRetryIntervalMs',
      cloudRunDurationRanges.digestRetryIntervalMs,
    ).default(cloudRunDefaults.digestRetryIntervalMs),
    livePollIntervalMs: durationMs('livePollIntervalMs', cloudRunDurationRanges.livePollIntervalMs).default(
      cloudRunDefaults.livePollIntervalMs,
    ),
    changeFeed: changeFeedSchema.default({ source: 'tail' }),
  })
  .superRefine((cr, ctx) => {
    // Google's endpoints refuse unauthenticated calls: without `insecure` (an emulator) every call
    // would fail UNAUTHENTICATED and be retried forever.
    if (cr.credentials.source === 'none' && !cr.endpoints.insecure)
      ctx.addIssue({
        code: 'custom',
        path: ['credentials', 'source'],
        message:
          '`none` (no credentials) is for an emulator only: set endpoints.insecure: true and the emulator endpoints, or use adc, keyFile or impersonate',
      });
    // Plaintext to pubsub.googleapis.com would fail every StreamingPull.
    if (cr.changeFeed.source === 'pubsub' && cr.endpoints.insecure && cr.endpoints.pubsub === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['endpoints', 'pubsub'],
        message:
          "changeFeed.source pubsub with endpoints.insecure (an emulator) needs endpoints.pubsub: the emulator's Pub/Sub host:port",
      });
  });

export type CloudRunConfig = z.infer<typeof cloudRunSchema>;
