/**
 * The ECS ProviderAdapter: for each configured region, four WatchSources (clusters + namespaces,
 * services + deployments, tasks with the ListTasks cheap poll, container instances as nodes) fed by
 * one shared CloudTrail poller, and `activity$` (LAST SEEN) emitted at every successful cluster-wide
 * poll and every observed change, per cluster.
 *
 * Failure: `sources()` never calls the network (credentials are resolved on first use); provider
 * errors surface from the sources' methods. `close()` ends hint streams, completes `activity$` and
 * destroys the SDK clients; it is idempotent.
 */
import type { EcsConfig } from './config.js';
import type { ClusterObject } from '../../src/model/index.js';
import { ActivityReporter } from '../../src/provider/activity.js';
import type { ProviderAdapter, ProviderDeps } from '../../src/provider/adapter.js';
import type { WatchSource } from '../../src/watch/source.js';
import { createAuditFeed } from './audit-source.js';
import type { AuditFeed } from './audit-source.js';
import { createRegionClients, destroyRegionClients } from './client.js';
import type { EcsClientOptions, RegionClients } from './client.js';
import { ClusterSource } from './cluster-source.js';
import { NodeSource } from './node-source.js';
import { CONTROLLER_NAME, RegionContext } from './region.js';
import { ServiceSource } from './service-source.js';
import { TaskDefinitions } from './task-definitions.js';
import { TaskSource } from './task-source.js';

export interface EcsRegionSources {
  region: string;
  clusters: ClusterSource;
  services: ServiceSource;
  tasks: TaskSource;
  nodes: NodeSource;
  feed: AuditFeed;
}

export interface EcsAdapter extends ProviderAdapter {
  /** The sources by region (tests, benchmarks, diagnostics). Built on first call. */
  regions(): EcsRegionSources[];
}

export function createEcsAdapter(
  config: EcsConfig,
  deps: ProviderDeps,
  options: EcsClientOptions = {},
): EcsAdapter {
  const activity = new ActivityReporter(CONTROLLER_NAME, deps.scheduler);
  const taskDefs = new TaskDefinitions(deps);
  let clients: RegionClients[] | undefined;
  let built: EcsRegionSources[] | undefined;
  let closed = false;

  const regions = (): EcsRegionSources[] => {
    if (closed) throw new Error('ECS adapter is closed');
    if (built) return built;
    clients = createRegionClients(config, options);
    built = clients.map((rcClients) => {
      const rc = new RegionContext(config.account, rcClients, deps, taskDefs, activity);
      const feed = createAuditFeed(rc, config.cloudTrail);
      const services = new ServiceSource(rc, feed);
      const tasks = new TaskSource(rc, feed, config.taskPollIntervalMs, (t) => services.touches.next(t));
      return {
        region: rc.region,
        clusters: new ClusterSource(rc, feed),
        services,
        tasks,
        nodes: new NodeSource(rc, feed),
        feed,
      };
    });
    return built;
  };

  return {
    provider: 'ECS',
    activity$: activity.activity$,
    regions,
    sources(): Promise<WatchSource<ClusterObject>[]> {
      try {
        return Promise.resolve(regions().flatMap((r) => [r.clusters, r.services, r.tasks, r.nodes]));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      for (const r of built ?? []) {
        r.feed.close();
        r.services.touches.complete();
      }
      activity.close();
      if (clients) destroyRegionClients(clients);
      return Promise.resolve();
    },
  };
}
