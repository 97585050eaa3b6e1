/**
 * Builds the provider adapters a config asks for, sharing one API budget whose buckets carry the
 * providers' documented limits scaled by `budget.fraction`. A third provider is one more entry here.
 *
 * The budget is per process (one customer account): ECS and CloudTrail buckets are really per
 * account *and region*, so with several regions the watcher stays below its share in each.
 */
import type { Config } from '../config/schema.js';
import type { ProviderAdapter, ProviderDeps } from '../provider/adapter.js';
import { ApiBudget } from '../watch/budget.js';
import { CLOUD_RUN_BUCKETS, CLOUDTRAIL_BUCKETS, ECS_BUCKETS } from '../watch/provider-limits.js';
import { createCloudRunAdapter } from '../../adapters/cloudrun/index.js';
import { createEcsAdapter } from '../../adapters/ecs/index.js';

/** `metrics` feeds sightline_budget_wait_ms_total; `logger` explains waits at debug. */
export function createBudget(
  config: Config,
  scheduler: ProviderDeps['scheduler'],
  metrics?: ProviderDeps['metrics'],
  logger?: ProviderDeps['logger'],
): ApiBudget {
  return new ApiBudget(
    { ...CLOUD_RUN_BUCKETS, ...ECS_BUCKETS, ...CLOUDTRAIL_BUCKETS },
    config.budget.fraction,
    scheduler,
    metrics,
    logger,
  );
}

export function createAdapters(config: Config, deps: ProviderDeps): ProviderAdapter[] {
  const adapters: ProviderAdapter[] = [];
  if (config.providers.cloudRun) adapters.push(createCloudRunAdapter(config.providers.cloudRun, deps));
  if (config.providers.ecs) adapters.push(createEcsAdapter(config.providers.ecs, deps));
  return adapters;
}
