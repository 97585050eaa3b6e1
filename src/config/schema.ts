/**
 * The configuration file's schema (one YAML file per customer account), validated with zod so that
 * every error names the field path and the problem. Secrets appear only by reference: a file path
 * (console token) or a `${VAR}` environment reference (substituted by load.ts before validation,
 * after which secret fields are marked so they never reach a log line). The `providers` section has
 * one optional section per registered provider (adapters/index.ts), each validated by the
 * provider's own `configSchema`; at least one must be present.
 */
import { z } from 'zod';
import { providers } from '../../adapters/index.js';
import { defaults } from './defaults.js';
import { durationMs, hostPort, hostPortWithMin, httpUrl } from './fields.js';
import type { DurationRange } from './fields.js';

/** Ranges of the core sections' duration fields (providers state their own). */
export const durationRanges = {
  resyncPeriodMs: { minMs: 60_000, maxMs: 7 * 24 * 3_600_000 },
  clusterPollIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  watchdogTimeoutMs: { minMs: 1_000, maxMs: 24 * 3_600_000 },
  heartbeatIntervalMs: { minMs: 100, maxMs: 3_600_000 },
  batchMaxDelayMs: { minMs: 1, maxMs: 60_000 },
  rpcDeadlineMs: { minMs: 100, maxMs: 300_000 },
  leaseDurationMs: { minMs: 1_000, maxMs: 300_000 },
  renewDeadlineMs: { minMs: 100, maxMs: 300_000 },
  retryPeriodMs: { minMs: 100, maxMs: 60_000 },
} as const satisfies Record<string, DurationRange>;

const ms = (what: keyof typeof durationRanges) => durationMs(what, durationRanges[what]);

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

type Registered = (typeof providers)[number];
/** One optional section per registered provider, under its id. */
type ProvidersShape = { [R in Registered as R['id']]: z.ZodOptional<R['configSchema']> };

// Object.fromEntries forgets which schema belongs to which id; the mapped type states it (same keys,
// same schemas, built from the same list).
const providersShape = Object.fromEntries(
  providers.map((p) => [p.id, p.configSchema.optional()]),
) as ProvidersShape;

const providersSchema = z
  .strictObject(providersShape)
  .refine((p) => Object.values(p).some((section) => section !== undefined), {
    error: `configure at least one provider (${providers.map((p) => p.id).join(' or ')})`,
  });

export const configSchema = z.strictObject({
  tenant: z.strictObject({
    /** IAM group in the console that this account's clusters belong to. */
    group: z.string().min(1),
    /** Identity issuer the console trusts for this watcher. */
    issuer: httpUrl,
  }),
  providers: providersSchema,
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
export type ProvidersConfig = Config['providers'];
/** The providers' own section types and schemas (adapters/<p>/config.ts), for importers of this module. */
export type ConsoleConfig = z.infer<typeof consoleSchema>;
export type LeaderElectionConfig = z.infer<typeof leaderElectionSchema>;
