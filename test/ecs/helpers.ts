/**
 * Test helpers for the ECS adapter: deps with a fresh metrics registry, a config pointing at the
 * emulator, list draining, counters, and a warped-time scheduler (real timers, virtual clock running
 * `factor` times faster) shared by the adapter and the emulator so minutes pass in milliseconds.
 */
import { pino } from 'pino';
import { Subscription } from 'rxjs';
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { ecsSchema } from '../../adapters/ecs/config.js';
import type { EcsConfig } from '../../adapters/ecs/config.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { MemoryCache } from '../../src/provider/cache.js';
import { ApiBudget } from '../../src/watch/budget.js';
import { CLOUDTRAIL_BUCKETS, SQS_BUCKETS } from '../../adapters/aws/limits.js';
import { ECS_BUCKETS } from '../../adapters/ecs/limits.js';
import type { WatchSource } from '../../src/watch/source.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** A scheduler whose clock runs `factor` times faster than real time (timers shortened alike). */
export class WarpScheduler implements SchedulerLike {
  private readonly realStart = Date.now();
  private offsetMs = 0;
  constructor(
    readonly factor: number,
    private readonly startMs = Date.UTC(2026, 10, 27, 10, 0, 0),
  ) {}
  now(): number {
    return this.startMs + this.offsetMs + (Date.now() - this.realStart) * this.factor;
  }
  /** Jumps the clock forward (no timer fires early). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const sub = new Subscription();
    const action = {
      schedule: (s?: T, d?: number) => {
        const inner = this.schedule(work, d ?? 0, s);
        sub.add(inner);
        return sub;
      },
      closed: false,
    } as unknown as SchedulerAction<T>;
    const t = setTimeout(() => work.call(action, state), Math.max(0, delay / this.factor));
    sub.add(() => clearTimeout(t));
    return sub;
  }
}

export interface TestDeps extends ProviderDeps {
  registry: Registry;
  cache: MemoryCache;
}

export function makeDeps(
  options: { scheduler?: SchedulerLike; budgetFraction?: number; budget?: ApiBudget } = {},
): TestDeps {
  const scheduler = options.scheduler ?? asyncScheduler;
  const registry = new Registry();
  return {
    logger: pino({ level: 'silent' }),
    metrics: new CoreMetrics(registry),
    registry,
    budget:
      options.budget ??
      new ApiBudget(
        { ...ECS_BUCKETS, ...CLOUDTRAIL_BUCKETS, ...SQS_BUCKETS },
        options.budgetFraction ?? 1,
        scheduler,
      ),
    scheduler,
    cache: new MemoryCache(),
    tenant: { group: 'acme-security', issuer: 'https://issuer.example.com' },
    agentVersion: '0.1.0-test',
    clusterPollIntervalMs: 5_000,
  };
}

export function ecsConfig(endpoint: string, overrides: Record<string, unknown> = {}): EcsConfig {
  return ecsSchema.parse({
    account: ACCOUNT,
    regions: [REGION],
    credentials: { source: 'static', accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' },
    endpoints: { ecs: endpoint, cloudtrail: endpoint },
    ...overrides,
  });
}

/** Lists every page of a source; returns the items and the first page's cursor. */
export async function listAll(
  source: WatchSource<ClusterObject>,
): Promise<{ items: ClusterObject[]; cursor?: string }> {
  const items: ClusterObject[] = [];
  let token: string | undefined;
  let cursor: string | undefined;
  let first = true;
  do {
    const page = await source.list(token);
    if (first) cursor = page.cursor;
    first = false;
    items.push(...page.items);
    token = page.nextPageToken;
  } while (token !== undefined);
  return cursor !== undefined ? { items, cursor } : { items };
}

/** Sum of `sightline_api_calls_total` for the given labels. */
export async function apiCalls(
  deps: TestDeps,
  filter: { operation?: string; outcome?: string } = {},
): Promise<number> {
  const m = await deps.metrics.apiCalls.get();
  return m.values
    .filter((v) => filter.operation === undefined || v.labels.operation === filter.operation)
    .filter((v) => filter.outcome === undefined || v.labels.outcome === filter.outcome)
    .reduce((a, v) => a + v.value, 0);
}

export async function auditCount(deps: TestDeps, outcome: string): Promise<number> {
  const m = await deps.metrics.auditEntries.get();
  return m.values.filter((v) => v.labels.outcome === outcome).reduce((a, v) => a + v.value, 0);
}

export function workloads(
  items: ClusterObject[],
): Array<Extract<ClusterObject, { kind: 'workload' }>['workload']> {
  return items.flatMap((o) => (o.kind === 'workload' ? [o.workload] : []));
}
