/**
 * What every provider adapter (adapters/cloudrun, adapters/ecs, a future App Runner) gives the
 * daemon: watch sources of normalized ClusterObjects and a stream of agent activity (each
 * successful cluster-wide poll moves the cluster's LAST SEEN). The daemon owns the watch engine and
 * the console; the adapter owns provider clients, listing, audit-log tailing and normalization.
 *
 * Failure: `sources()` rejects only on configuration-level problems (no credentials at all);
 * transient provider errors surface from the sources' methods and the engine retries them.
 */
import type { Observable, SchedulerLike } from 'rxjs';
import type { Logger } from 'pino';
import type { AgentActivity, ClusterObject, Provider } from '../model/index.js';
import type { WatchSource } from '../watch/source.js';
import type { ApiBudget } from '../watch/budget.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import type { KeyValueCache } from './cache.js';
import type { CheckResult } from '../runtime/health.js';

export interface ProviderDeps {
  logger: Logger;
  metrics: CoreMetrics;
  budget: ApiBudget;
  scheduler: SchedulerLike;
  cache: KeyValueCache;
  tenant: { group: string; issuer: string };
  agentVersion: string;
  /** Cluster-wide cheap poll / LAST SEEN interval. */
  clusterPollIntervalMs: number;
}

export interface ProviderAdapter {
  readonly provider: Provider;
  /** The watch sources for this adapter's whole scope (all projects/regions or regions/clusters). */
  sources(): Promise<WatchSource<ClusterObject>[]>;
  /** One value per successful cluster-wide poll or observed change, per cluster. */
  readonly activity$: Observable<AgentActivity>;
  /**
   * The state of the adapter's pushed change feeds, if it has any: /healthz shows it as the check
   * `<provider>:changeFeed`. `ok` is false only when changes are being missed (neither the feed nor
   * its poll fallback works); a feed that fell back to polling is ok with `detail.mode: 'fallback'`
   * and the reason (no payloads, no secrets). `sightline_change_feed_fallback{feed}` follows it.
   */
  health?(): CheckResult;
  /** Stops timers, tail streams and clients. Idempotent. */
  close(): Promise<void>;
}
