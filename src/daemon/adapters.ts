/**
 * Builds the provider adapters a config asks for, one per configured section of a registered
 * provider (adapters/index.ts), sharing one API budget whose buckets carry every registered
 * provider's documented limits scaled by `budget.fraction`.
 *
 * The budget is per process (one customer account): ECS and CloudTrail buckets are really per
 * account *and region*, so with several regions the watcher stays below its share in each.
 */
import type { Config } from '../config/schema.js';
import { configuredProviders, registeredProviders } from '../config/provider-sections.js';
import type { ProviderAdapter, ProviderDeps } from '../provider/adapter.js';
import type { BucketLimit } from '../watch/budget.js';
import { ApiBudget } from '../watch/budget.js';

/** Every registered provider's bucket limits, by bucket name. */
export function providerLimits(): Record<string, BucketLimit> {
  const limits: Record<string, BucketLimit> = {};
  for (const p of registeredProviders) Object.assign(limits, p.limits);
  return limits;
}

/** `metrics` feeds sightline_budget_wait_ms_total; `logger` explains waits at debug. */
export function createBudget(
  config: Config,
  scheduler: ProviderDeps['scheduler'],
  metrics?: ProviderDeps['metrics'],
  logger?: ProviderDeps['logger'],
): ApiBudget {
  return new ApiBudget(providerLimits(), config.budget.fraction, scheduler, metrics, logger);
}

/** One adapter per configured section; when one cannot be created, those made before it are closed. */
export async function createAdapters(config: Config, deps: ProviderDeps): Promise<ProviderAdapter[]> {
  const adapters: ProviderAdapter[] = [];
  try {
    for (const { registration, section } of configuredProviders(config.providers))
      adapters.push(await registration.create(section, deps));
  } catch (err) {
    await Promise.allSettled(adapters.map((a) => a.close()));
    throw err;
  }
  return adapters;
}
