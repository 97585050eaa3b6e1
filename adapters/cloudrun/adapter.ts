/**
 * The Cloud Run ProviderAdapter: one WatchSource per configured project (covering its regions;
 * regions from Locations.ListLocations when `regions: all`), one audit feed (one tail session) per
 * project, one shared set of SDK clients and one digest resolver. `activity$` emits
 * `{clusterId, controllerName: 'sightline-cloudrun', profile: 'observer', lastSeenMs}` for a cluster
 * (project×region) on every successful cheap poll of it, finished list of it, and audit change seen
 * in it.
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
import { CONTROLLER_NAME, CloudRunProjectSource } from './project-source.js';
import { ProjectScope } from './project-scope.js';

export function createCloudRunAdapter(config: CloudRunConfig, deps: ProviderDeps): ProviderAdapter {
  const activity$ = new Subject<AgentActivity>();
  let built:
    | Promise<{ clients: CloudRunClients; digests: DigestResolver; sources: CloudRunProjectSource[] }>
    | undefined;
  let closed = false;

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
    const sources = config.projects.map((project) => {
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
      });
      return new CloudRunProjectSource(scope, feed);
    });
    return { clients, digests, sources };
  };

  return {
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
        for (const s of b.sources) s.close();
        b.digests.close();
        await b.clients.close();
      } catch {
        // sources() failed: nothing to close
      }
    },
  };
}
