/**
 * Test helpers for the Lambda adapter: deps with the Lambda, CloudTrail and SQS buckets, a config
 * pointing at the emulator, a watch driven by a virtual clock with the emulator on the same clock,
 * and a loop that moves virtual time until a condition holds (provider calls are real loopback I/O).
 */
import { pino } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { CLOUDTRAIL_BUCKETS, SQS_BUCKETS } from '../../adapters/aws/limits.js';
import { lambdaSchema } from '../../adapters/lambda/config.js';
import type { LambdaConfig } from '../../adapters/lambda/config.js';
import { LAMBDA_BUCKETS } from '../../adapters/lambda/limits.js';
import type { ClusterObject, Workload } from '../../src/model/index.js';
import { MemoryCache } from '../../src/provider/cache.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { ApiBudget } from '../../src/watch/budget.js';
import type { VirtualClock } from '../watch/virtual-clock.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const REPO = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
/** Where virtual time starts (CloudTrail windows need a plausible clock). */
export const START_MS = Date.UTC(2026, 11, 3, 9, 0, 0);

export interface TestDeps extends ProviderDeps {
  cache: MemoryCache;
}

/** `budget: false`: no bucket limits (tests about what is read, not how fast). */
export function makeDeps(
  scheduler: SchedulerLike = asyncScheduler,
  cache = new MemoryCache(),
  options: { budget?: boolean } = {},
): TestDeps {
  const buckets =
    options.budget === false ? {} : { ...LAMBDA_BUCKETS, ...CLOUDTRAIL_BUCKETS, ...SQS_BUCKETS };
  return {
    logger: pino({ level: 'silent' }),
    metrics: new CoreMetrics(new Registry()),
    budget: new ApiBudget(buckets, 1, scheduler),
    scheduler,
    cache,
    tenant: { group: 'acme-security', issuer: 'https://issuer.example.com' },
    agentVersion: '0.1.0-test',
    clusterPollIntervalMs: 5_000,
  };
}

export function lambdaConfig(endpoint: string, overrides: Record<string, unknown> = {}): LambdaConfig {
  return lambdaSchema.parse({
    account: ACCOUNT,
    regions: [REGION],
    credentials: { source: 'static', accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' },
    endpoints: { lambda: endpoint, cloudtrail: endpoint },
    ...overrides,
  });
}

export function workloads(items: Iterable<ClusterObject>): Workload[] {
  return [...items].flatMap((o) => (o.kind === 'workload' ? [o.workload] : []));
}

/** Moves virtual time `stepMs` at a time (letting real I/O finish in between) until `cond` holds. */
export async function advanceUntil(
  clock: VirtualClock,
  cond: () => boolean,
  stepMs: number,
  what: string,
  maxSteps = 400,
): Promise<number> {
  const start = clock.now();
  for (let i = 0; i < maxSteps; i++) {
    if (cond()) return clock.now() - start;
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (cond()) return clock.now() - start;
  throw new Error(`timed out waiting for ${what}`);
}
