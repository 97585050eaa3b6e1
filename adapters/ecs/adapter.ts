/**
 * The ECS ProviderAdapter: for each configured region, four WatchSources (clusters + namespaces,
 * services + deployments, tasks with the ListTasks cheap poll, container instances as nodes) fed by
 * one shared CloudTrail poller, and `activity$` (LAST SEEN) emitted at every successful cluster-wide
 * poll and every observed change, per cluster. With `changeFeed.source: sqs` the sources read the
 * pushed feed (event-source.ts: the events queue joined with CloudTrail), the task poll becomes a
 * slow reconciliation, and `health()` reports whether each region's feed delivers or fell back.
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
import { SqsFeed } from '../aws/sqs-feed.js';
import type { CheckResult } from '../../src/runtime/health.js';
import { ECS_CALL_POLICY } from './call.js';
import { queueUrlFor } from './config.js';
import { mapEcsEvent } from './event-mapping.js';
import type { EcsRef } from './event-mapping.js';
import { createPushedEcsFeed } from './event-source.js';
import type { EcsFeed } from './event-source.js';
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
  /** Pushed mode: the region's events queue feed. */
  queue?: SqsFeed<EcsRef>;
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
      const queueUrl = queueUrlFor(config, rc.region);
      const queue =
        rcClients.sqs !== undefined && queueUrl !== undefined
          ? new SqsFeed<EcsRef>(deps, rcClients.sqs, {
              name: `ecs/${rc.region}`,
              queueUrl,
              policy: ECS_CALL_POLICY,
              map: (e) => mapEcsEvent(e, rc.region, config.account),
              watchdogMs: config.changeFeed.watchdogMs,
              silenceMs: config.changeFeed.silenceMs,
            })
          : undefined;
      const sourceFeed: EcsFeed =
        queue !== undefined
          ? createPushedEcsFeed(queue, config.changeFeed.cloudTrail ? feed : undefined)
          : feed;
      const services = new ServiceSource(rc, sourceFeed);
      const tasks = new TaskSource(
        rc,
        sourceFeed,
        config.taskPollIntervalMs,
        (t) => services.touches.next(t),
        queue !== undefined
          ? {
              reconcileIntervalMs: config.changeFeed.reconcileIntervalMs,
              fallback: () => queue.fallback,
              reconciled: (n) => queue.reconciled(n),
            }
          : undefined,
      );
      return {
        region: rc.region,
        clusters: new ClusterSource(rc, sourceFeed),
        services,
        tasks,
        nodes: new NodeSource(rc, sourceFeed),
        feed,
        ...(queue !== undefined ? { queue } : {}),
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
    ...(config.changeFeed.source === 'sqs'
      ? {
          health(): CheckResult {
            const feeds = (built ?? []).flatMap((r) =>
              r.queue !== undefined ? [r.queue.health().detail] : [],
            );
            return { ok: true, detail: { feeds } };
          },
        }
      : {}),
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      for (const r of built ?? []) {
        r.feed.close();
        r.queue?.close();
        r.services.touches.complete();
      }
      activity.close();
      if (clients) destroyRegionClients(clients);
      return Promise.resolve();
    },
  };
}
