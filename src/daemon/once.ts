/**
 * One full inventory pass (`sightline once`): every source of every configured provider is listed
 * to the last page, like an ad-hoc inventory tool, without a console or a state database.
 * Failure: a source whose listing keeps failing after `maxAttempts` is reported in `errors` and the
 * others are still listed; a source the provider refuses for a missing permission is reported at
 * once (no retries: waiting grants nothing), its entry naming the permission (`permission`, and a
 * message starting `missing permission <p>`); the caller decides the exit code.
 */
import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { Config } from '../config/schema.js';
import type { ClusterObject } from '../model/index.js';
import { CoreMetrics } from '../runtime/metrics.js';
import type { Registry } from '../runtime/metrics.js';
import { backoffDelayMs } from '../runtime/backoff.js';
import type { BackoffOptions } from '../runtime/backoff.js';
import { delay, systemScheduler } from '../runtime/clock.js';
import { MemoryCache } from '../provider/cache.js';
import { deniedPermission } from '../watch/source.js';
import type { WatchSource } from '../watch/source.js';
import { createAdapters, createBudget } from './adapters.js';

interface InventoryResult {
  objects: ClusterObject[];
  errors: Array<{ source: string; message: string; permission?: string }>;
}

const maxAttempts = 5;
/** Between attempts of one page: the runtime backoff without jitter (800 ms, 1.6 s, 3.2 s, 6.4 s). */
const pageRetryBackoff: Partial<BackoffOptions> = { jitter: 0 };

async function listAll(
  source: WatchSource<ClusterObject>,
  scheduler: SchedulerLike,
): Promise<ClusterObject[]> {
  const out: ClusterObject[] = [];
  let token: string | undefined;
  let attempt = 0;
  for (;;) {
    try {
      const page = await source.list(token);
      out.push(...page.items);
      attempt = 0;
      if (page.nextPageToken === undefined) return out;
      token = page.nextPageToken;
    } catch (err) {
      attempt += 1;
      if (attempt >= maxAttempts || deniedPermission(err) !== undefined) throw err;
      await delay(backoffDelayMs(attempt, pageRetryBackoff), scheduler);
    }
  }
}

export async function inventoryOnce(
  config: Config,
  deps: { logger: Logger; registry: Registry; agentVersion: string; scheduler?: SchedulerLike },
): Promise<InventoryResult> {
  const scheduler = deps.scheduler ?? systemScheduler;
  const metrics = new CoreMetrics(deps.registry);
  const adapters = await createAdapters(config, {
    logger: deps.logger,
    metrics,
    budget: createBudget(config, scheduler, metrics, deps.logger),
    scheduler,
    cache: new MemoryCache(),
    tenant: config.tenant,
    agentVersion: deps.agentVersion,
    clusterPollIntervalMs: config.intervals.clusterPollIntervalMs,
  });
  const result: InventoryResult = { objects: [], errors: [] };
  try {
    for (const adapter of adapters) {
      let sources: WatchSource<ClusterObject>[];
      try {
        sources = await adapter.sources();
      } catch (err) {
        result.errors.push({
          source: adapter.provider,
          message: err instanceof Error ? err.message : String(err),
        });
        continue;
      }
      const lists = await Promise.allSettled(sources.map((s) => listAll(s, scheduler)));
      lists.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          result.objects.push(...r.value);
          return;
        }
        const source = sources[i]?.id ?? '?';
        const message = r.reason instanceof Error ? r.reason.message : String(r.reason);
        const permission = deniedPermission(r.reason);
        if (permission === undefined) result.errors.push({ source, message });
        else
          result.errors.push({ source, permission, message: `missing permission ${permission}: ${message}` });
      });
    }
  } finally {
    await Promise.allSettled(adapters.map((a) => a.close()));
  }
  return result;
}
