/**
 * The Cloud Run ProviderAdapter: per configured project, one WatchSource per kind (`RUN_KINDS`:
 * clusters, services, jobs, worker pools; each covering the project's regions, read from
 * Locations.ListLocations when `regions: all`) over one shared audit feed (one tail session per
 * project, fanned out), one shared set of SDK clients and one digest resolver. `activity$` emits
 * `{clusterId, controllerName: 'sightline-cloudrun', profile: 'observer', lastSeenMs}` for a cluster
 * (project×region) on every successful cheap poll of it, finished list of it, and audit change seen
 * in it. With `changeFeed.source: pubsub` the kinds of every project read ONE Pub/Sub subscription
 * (PubsubFeed) instead, each project's tail serving only while that feed is in fallback; `health()`
 * then reports the feed's mode (check `CLOUD_RUN:changeFeed`).
 *
 * Failure: `sources()` rejects only on configuration problems (bad credentials setup); it makes no
 * API call. `close()` stops timers, tails and clients; it is idempotent.
 */
import { Subject } from 'rxjs';
import type { ProviderAdapter, ProviderDeps } from '../../src/provider/adapter.js';
import type { CloudRunConfig } from './config.js';
import type { AgentActivity, ClusterObject } from '../../src/model/index.js';
import type { WatchSource } from '../../src/watch/source.js';
import type { CloudRunClients } from './client.js';
import { createCloudRunClients } from './client.js';
import { RunLister } from './lister.js';
import { DigestResolver } from './digests.js';
import { AuditFeed } from './audit-source.js';
import type { ProjectFeed } from './project-feed.js';
import { PubsubFeed, PushedProjectFeed } from './pushed-feed.js';
import type { PubSub } from '@google-cloud/pubsub';
import type { CheckResult } from '../../src/runtime/health.js';
import { CONTROLLER_NAME, CloudRunKindSource } from './kind-source.js';
import { ProjectScope } from './project-scope.js';
import { RUN_KINDS } from './run-kinds.js';

export function createCloudRunAdapter(config: CloudRunConfig, deps: ProviderDeps): ProviderAdapter {
  const activity$ = new Subject<AgentActivity>();
  let built:
    | Promise<{
        clients: CloudRunClients;
        digests: DigestResolver;
        feeds: AuditFeed[];
        sources: CloudRunKindSource[];
        pushed?: { feed: PubsubFeed; client: PubSub };
      }>
    | undefined;
  let closed = false;
  let pushedFeed: PubsubFeed | undefined;

  const onActivity = (clusterId: string): void => {
    if (!closed)
      activity$.next({
        clusterId,
        controllerName: CONTROLLER_NAME,
        profile: 'observer',
        lastSeenMs: deps.scheduler.now(),
      });
  };

  const build = async () => {
    const firstProject = config.projects[0] ?? '';
    const clients = await createCloudRunClients(config, firstProject);
    const lister = new RunLister(clients, deps);
    const digests = new DigestResolver(clients, deps, config.digestRetryIntervalMs);
    digests.start();
    const feeds: AuditFeed[] = [];
    const cf = config.changeFeed;
    let pushed: { feed: PubsubFeed; client: PubSub } | undefined;
    if (cf.source === 'pubsub') {
      const { createPubsubClient } = await import('./pubsub-client.js');
      const client = await createPubsubClient(config, firstProject);
      const feed = new PubsubFeed(client, deps, {
        subscription: cf.subscription,
        silenceMs: cf.silenceMs,
        maxOutstandingMessages: cf.maxOutstandingMessages,
        projects: config.projects,
        onRevisionDigests: (d, containers) => digests.record(d, containers),
      });
      pushed = { feed, client };
      pushedFeed = feed;
    }
    const intervals = {
      pollIntervalMs: deps.clusterPollIntervalMs,
      livePollIntervalMs: Math.max(config.livePollIntervalMs, deps.clusterPollIntervalMs),
    };
    const sources = config.projects.flatMap((project) => {
      const regions = config.regions;
      const scope = new ProjectScope({
        project,
        regions: regions === 'all' ? () => lister.locations(project) : () => Promise.resolve([...regions]),
        lister,
        digests,
        deps,
        onActivity,
      });
      const feed = new AuditFeed(project, clients.logging, deps, {
        bufferWindowMs: config.tailBufferWindowMs,
        logPollIntervalMs: config.logPollIntervalMs,
        onRevisionDigests: (d, containers) => digests.record(d, containers),
      });
      feeds.push(feed);
      const projectFeed: ProjectFeed = pushed ? new PushedProjectFeed(pushed.feed, feed) : feed;
      return RUN_KINDS.map((kind) => {
        const source = new CloudRunKindSource(scope, kind, projectFeed, intervals);
        pushed?.feed.register(source.id, project, (m) =>
          m.hints.some((h) => kind.targets.has(h.target.kind)),
        );
        return source;
      });
    });
    return pushed ? { clients, digests, feeds, sources, pushed } : { clients, digests, feeds, sources };
  };

  const adapter: ProviderAdapter = {
    provider: 'CLOUD_RUN',
    activity$: activity$.asObservable(),
    async sources(): Promise<WatchSource<ClusterObject>[]> {
      if (closed) throw new Error('the Cloud Run adapter is closed');
      built ??= build();
      return (await built).sources;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      activity$.complete();
      if (!built) return;
      try {
        const b = await built;
        b.pushed?.feed.close();
        for (const f of b.feeds) f.close();
        await b.pushed?.client.close();
        b.digests.close();
        await b.clients.close();
      } catch {
        // sources() failed: nothing to close
      }
    },
  };
  // Only a pushed feed has a state worth a /healthz check (`CLOUD_RUN:changeFeed`).
  if (config.changeFeed.source === 'pubsub')
    adapter.health = (): CheckResult => pushedFeed?.health() ?? { ok: true, detail: { mode: 'starting' } };
  return adapter;
}
