/**
 * The configuration file's schema (one YAML file per customer account), validated with zod so that
 * every error names the field path and the problem. Secrets appear only by reference: a file path
 * (console token) or a `${VAR}` environment reference (substituted by load.ts before validation,
 * after which secret fields are marked so they never reach a log line).
 */
import { z } from 'zod';
import { defaults } from './defaults.js';

const GCP_REGION_RE = /^[a-z]+-[a-z]+[0-9]+$/;
const AWS_REGION_RE = /^(?:[a-z]{2}|us-gov|us-iso[a-z]?|cn)-[a-z]+-[0-9]$/;
const GCP_PROJECT_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const AWS_ACCOUNT_RE = /^[0-9]{12}$/;
const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * A duration field: whole milliseconds within [minMs, maxMs], both well under 2^31 ms (Node timers
 * fire at once, in a loop, for longer delays). The message states the range for every kind of
 * wrong value (not a number, fractional, negative, too large).
 */
export interface DurationRange {
  minMs: number;
  maxMs: number;
}

export const durationRanges = {
  tailBufferWindowMs: { minMs: 0, maxMs: 60_000 },
  resyncPeriodMs: { minMs: 60_000, maxMs: 7 * 24 * 3_600_000 },
  clusterPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  watchdogTimeoutMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  heartbeatIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  logPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  digestRetryIntervalMs: { minMs: 100, maxMs: 24 * 3_600_000 },
  pollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  overlapMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  taskPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  batchMaxDelayMs: { minMs: 1, maxMs: 60_000 },
  rpcDeadlineMs: { minMs: 100, maxMs: 300_000 },
  leaseDurationMs: { minMs: 1_000, maxMs: 300_000 },
  renewDeadlineMs: { minMs: 100, maxMs: 300_000 },
  retryPeriodMs: { minMs: 100, maxMs: 60_000 },
} as const satisfies Record<string, DurationRange>;

const ms = (what: keyof typeof durationRanges) => {
  const { minMs, maxMs } = durationRanges[what];
  const error = `${what} must be a whole number of milliseconds between ${minMs} and ${maxMs}`;
  return z.number({ error }).int({ error }).min(minMs, { error }).max(maxMs, { error });
};

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

const httpUrl = z
  .string()
  .refine(isHttpUrl, { error: 'must be an http:// or https:// URL, e.g. https://issuer.example.com' });

/** host:port with a port in [minPort, 65535] (0 only where a free port may be picked). */
const hostPortWithMin = (minPort: number) =>
  z
    .string()
    .regex(/^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, {
      error: 'must be host:port, e.g. 127.0.0.1:8443',
    })
    .refine(
      (v) => {
        const port = Number(v.slice(v.lastIndexOf(':') + 1));
        return port >= minPort && port <= 65535;
      },
      { error: `the port must be between ${minPort} and 65535` },
    );
const hostPort = hostPortWithMin(1);

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
        /** Base URL of the v1 (Knative) REST API; `{region}` is replaced. */
        runV1: z.string().min(1).optional(),
        /** Plaintext gRPC (emulator only). */
        insecure: z.boolean().default(false),
      })
      .default({ insecure: false }),
    tailBufferWindowMs: ms('tailBufferWindowMs').default(defaults.cloudRun.tailBufferWindowMs),
    logPollIntervalMs: ms('logPollIntervalMs').default(defaults.cloudRun.logPollIntervalMs),
    digestRetryIntervalMs: ms('digestRetryIntervalMs').default(defaults.cloudRun.digestRetryIntervalMs),
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
  });

const awsCredentials = z.discriminatedUnion('source', [
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

export const ecsSchema = z.strictObject({
  account: z.string().regex(AWS_ACCOUNT_RE, { error: 'must be a 12-digit AWS account id' }),
  regions: z.array(z.string().regex(AWS_REGION_RE, { error: 'not an AWS region (e.g. us-east-1)' })).min(1),
  credentials: awsCredentials.default({ source: 'default' }),
  endpoints: z.strictObject({ ecs: httpUrl.optional(), cloudtrail: httpUrl.optional() }).default({}),
  cloudTrail: z
    .strictObject({
      /** ReadOnly=false by default: EventSource=ecs.amazonaws.com also returns our own List/Describe calls (adapters/ecs/README.md). */
      lookupAttribute: z.enum(['EventSource', 'ReadOnly']).default('ReadOnly'),
      pollIntervalMs: ms('pollIntervalMs').default(defaults.ecs.cloudTrailPollIntervalMs),
      overlapMs: ms('overlapMs').default(defaults.ecs.cloudTrailOverlapMs),
      maxRequestsPerSecond: z
        .number()
        .positive()
        .max(2, { error: 'CloudTrail allows at most 2 requests per second per account and region' })
        .default(defaults.ecs.cloudTrailMaxRequestsPerSecond),
    })
    .default({
      lookupAttribute: 'ReadOnly',
      pollIntervalMs: defaults.ecs.cloudTrailPollIntervalMs,
      overlapMs: defaults.ecs.cloudTrailOverlapMs,
      maxRequestsPerSecond: defaults.ecs.cloudTrailMaxRequestsPerSecond,
    }),
  taskPollIntervalMs: ms('taskPollIntervalMs').default(defaults.ecs.taskPollIntervalMs),
});

export const consoleSchema = z.strictObject({
  /** host:port of the console's gRPC endpoint. */
  address: hostPort,
  tls: z
    .discriminatedUnion('mode', [
      z.strictObject({
        mode: z.literal('tls'),
        caFile: z.string().min(1).optional(),
        serverName: z.string().min(1).optional(),
      }),
      z.strictObject({ mode: z.literal('plaintext') }),
    ])
    .default({ mode: 'tls' }),
  /** File holding the bearer token; re-read when it changes. */
  tokenFile: z.string().min(1),
  batchMaxItems: z.number().int().min(1).max(10_000).default(defaults.console.batchMaxItems),
  batchMaxDelayMs: ms('batchMaxDelayMs').default(defaults.console.batchMaxDelayMs),
  rpcDeadlineMs: ms('rpcDeadlineMs').default(defaults.console.rpcDeadlineMs),
  outboxMaxBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(defaults.console.outboxMaxBytes),
});

/** Kubernetes object names: a DNS-1123 subdomain (Lease) and label (namespace). */
const K8S_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const K8S_NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Leader election on a Lease (two or more replicas, one active); off for a single replica. */
export const leaderElectionSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    leaseName: z
      .string()
      .max(253)
      .regex(K8S_NAME_RE, { error: 'not a Kubernetes object name (lowercase, digits, -, .)' })
      .default(defaults.leaderElection.leaseName),
    /** Namespace of the Lease (the pod's: `${POD_NAMESPACE}` from the downward API). */
    namespace: z.string().regex(K8S_NAMESPACE_RE, { error: 'not a Kubernetes namespace name' }).optional(),
    leaseDurationMs: ms('leaseDurationMs').default(defaults.leaderElection.leaseDurationMs),
    renewDeadlineMs: ms('renewDeadlineMs').default(defaults.leaderElection.renewDeadlineMs),
    retryPeriodMs: ms('retryPeriodMs').default(defaults.leaderElection.retryPeriodMs),
    /** A kubeconfig file instead of the pod's in-cluster credentials (development, tests). */
    kubeconfig: z.string().min(1).optional(),
  })
  .refine((l) => !l.enabled || l.namespace !== undefined, {
    error: 'namespace is required when leader election is enabled (e.g. ${POD_NAMESPACE})',
    path: ['namespace'],
  })
  .refine((l) => l.renewDeadlineMs < l.leaseDurationMs, {
    error:
      'renewDeadlineMs must be less than leaseDurationMs (the leader must stop before another may take over)',
    path: ['renewDeadlineMs'],
  })
  .refine((l) => l.retryPeriodMs < l.renewDeadlineMs, {
    error: 'retryPeriodMs must be less than renewDeadlineMs (at least one renewal attempt per deadline)',
    path: ['retryPeriodMs'],
  });

export const configSchema = z.strictObject({
  tenant: z.strictObject({
    /** IAM group in the console that this account's clusters belong to. */
    group: z.string().min(1),
    /** Identity issuer the console trusts for this watcher. */
    issuer: httpUrl,
  }),
  providers: z
    .strictObject({
      cloudRun: cloudRunSchema.optional(),
      ecs: ecsSchema.optional(),
    })
    .refine((p) => p.cloudRun !== undefined || p.ecs !== undefined, {
      error: 'configure at least one provider (cloudRun or ecs)',
    }),
  intervals: z
    .strictObject({
      resyncPeriodMs: ms('resyncPeriodMs').default(defaults.resyncPeriodMs),
      clusterPollIntervalMs: ms('clusterPollIntervalMs').default(defaults.clusterPollIntervalMs),
      watchdogTimeoutMs: ms('watchdogTimeoutMs').default(defaults.watchdogTimeoutMs),
      heartbeatIntervalMs: ms('heartbeatIntervalMs').default(defaults.heartbeatIntervalMs),
    })
    .default({
      resyncPeriodMs: defaults.resyncPeriodMs,
      clusterPollIntervalMs: defaults.clusterPollIntervalMs,
      watchdogTimeoutMs: defaults.watchdogTimeoutMs,
      heartbeatIntervalMs: defaults.heartbeatIntervalMs,
    }),
  budget: z
    .strictObject({
      fraction: z
        .number()
        .gt(0)
        .max(1, { error: 'fraction is at most 1 (100 % of the provider limit)' })
        .default(defaults.budgetFraction),
    })
    .default({ fraction: defaults.budgetFraction }),
  console: consoleSchema,
  stateDir: z.string().min(1),
  http: z
    .strictObject({ listen: hostPortWithMin(0).default(defaults.http.listen) })
    .default({ listen: defaults.http.listen }),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
    .default({ level: 'info' }),
  leaderElection: leaderElectionSchema.default({
    enabled: false,
    leaseName: defaults.leaderElection.leaseName,
    leaseDurationMs: defaults.leaderElection.leaseDurationMs,
    renewDeadlineMs: defaults.leaderElection.renewDeadlineMs,
    retryPeriodMs: defaults.leaderElection.retryPeriodMs,
  }),
});

export type Config = z.infer<typeof configSchema>;
export type CloudRunConfig = z.infer<typeof cloudRunSchema>;
export type EcsConfig = z.infer<typeof ecsSchema>;
export type ConsoleConfig = z.infer<typeof consoleSchema>;
export type LeaderElectionConfig = z.infer<typeof leaderElectionSchema>;
