/**
 * The ECS ProviderAdapter: for each configured region, four WatchSources (clusters + namespaces,
 * services + deployments, tasks with the ListTasks cheap poll, container instances as nodes) fed by
 * one shared CloudTrail poller, and `activity$` (LAST SEEN) emitted at every successful cluster-wide
 * poll and every observed change, per cluster. With `changeFeed.source: sqs` the sources read the
 * pushed feed (event-source.ts: the events queue joined with CloudTrail), the task poll becomes a
 * slow reconciliation, and `health()` reports whether each region's feed delivers or fell back.
 *
 * The clients, the queue, `sources()`, `health()` and `close()` are every AWS adapter's
 * (adapters/aws/adapter-wiring.ts).
 *
 * Failure: `sources()` never calls the network (credentials are resolved on first use); provider
 * errors surface from the sources' methods. `close()` ends hint streams, completes `activity$` and
 * destroys the SDK clients; it is idempotent.
 */
import type { EcsConfig } from './config.js';
import { ActivityReporter } from '../../src/provider/activity.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { createAwsAdapter } from '../aws/adapter-wiring.js';
import type { AwsAdapter } from '../aws/adapter-wiring.js';
import { createAuditFeed } from './audit-source.js';
import type { AuditFeed } from './audit-source.js';
import type { SqsFeed } from '../aws/sqs-feed.js';
import { ECS_CALL_POLICY } from './call.js';
import { mapEcsEvent } from './event-mapping.js';
import type { EcsRef } from './event-mapping.js';
import { createPushedEcsFeed } from './event-source.js';
import type { EcsFeed } from './event-source.js';
import { createRegionClients, destroyRegionClients } from './client.js';
import type { EcsClientOptions } from './client.js';
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
  /** Pushed mode: the region's events queue feed. */
  queue?: SqsFeed<EcsRef>;
}

export type EcsAdapter = AwsAdapter<EcsRegionSources>;

export function createEcsAdapter(
  config: EcsConfig,
  deps: ProviderDeps,
  options: EcsClientOptions = {},
): EcsAdapter {
  const activity = new ActivityReporter(CONTROLLER_NAME, deps.scheduler);
  const taskDefs = new TaskDefinitions(deps);
  return createAwsAdapter({
    provider: 'ECS',
    name: 'ECS',
    config,
    deps,
    activity,
    createClients: () => createRegionClients(config, options),
    destroyClients: destroyRegionClients,
    queue: {
      name: 'ecs',
      policy: ECS_CALL_POLICY,
      map: (e, region) => mapEcsEvent(e, region, config.account),
    },
    buildRegion: (rcClients, queue): EcsRegionSources => {
      const rc = new RegionContext(config.account, rcClients, deps, taskDefs, activity);
      const feed = createAuditFeed(rc, config.cloudTrail);
      const sourceFeed: EcsFeed =
        queue !== undefined
          ? createPushedEcsFeed(queue.feed, config.changeFeed.cloudTrail ? feed : undefined)
          : feed;
      const services = new ServiceSource(rc, sourceFeed);
      const tasks = new TaskSource(
        rc,
        sourceFeed,
        config.taskPollIntervalMs,
        (t) => services.touches.next(t),
        queue?.reconciliation,
      );
      return {
        region: rc.region,
        clusters: new ClusterSource(rc, sourceFeed),
        services,
        tasks,
        nodes: new NodeSource(rc, sourceFeed),
        feed,
        ...(queue !== undefined ? { queue: queue.feed } : {}),
      };
    },
    sourcesOf: (r) => [r.clusters, r.services, r.tasks, r.nodes],
    closeRegion: (r) => {
      r.feed.close();
      r.services.touches.complete();
    },
  });
}
