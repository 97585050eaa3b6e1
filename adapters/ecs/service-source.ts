/**
 * WatchSource `ecs/<account>/<region>/services`: each ECS service as a Deployment and each of its
 * deployments / task sets as a ReplicaSet owned by it. List: per cluster ListServices (100 a page)
 * + DescribeServices (10 a call, TAGS) + each task definition once ever. get/getMany: DescribeServices
 * grouped per cluster, 10 a call.
 *
 * Hints: CloudTrail service events (Create/Update/DeleteService, task-set calls, TagResource) and
 * "a task of this service started or stopped" from the tasks source (scheduler work CloudTrail does
 * not show) become `family` hints of the service (index SERVICE_INDEX): the engine's serial worker
 * reads the service, then its ReplicaSets (those `childKeysOf` names and those the store's index
 * holds), and tombstones the ReplicaSets that are gone. A deleted cluster gives a `deleted` hint per
 * object the store holds in it. No provider call is made inside the hint stream.
 *
 * Reads: a family expansion (the parents, then their children) costs one DescribeServices: the
 * services of the last DescribeServices round are kept until the next getMany or list, and that
 * next getMany is answered from them when it asks only for ReplicaSets of services whose children
 * `childKeysOf` just named (the engine's children read). Any other read describes again.
 */
import { Observable, Subject } from 'rxjs';
import { objectKey } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, Indexers, ListPage, WatchSource } from '../../src/watch/source.js';
import type { EcsFeed } from './event-source.js';
import { CLUSTER_INDEX, EcsSourceBase, clusterIdOf } from './source-base.js';
import { parseKey, serviceArnOfUid, workloadKey } from './keys.js';
import { describeServices, listServicePage, normalizeServices } from './lister.js';
import { ecsArn } from './normalizer.js';
import type { RegionContext } from './region.js';

/** The store index of ReplicaSets by the key of their service (a family hint's parent). */
const SERVICE_INDEX = 'service';

export interface ServiceTouch {
  clusterArn: string;
  /** Service ARN or name. */
  service: string;
}

/** The key of the service a ReplicaSet belongs to (none for a service itself). */
function serviceKeyOf(o: ClusterObject): readonly string[] {
  if (o.kind !== 'workload' || o.workload.kind !== 'ReplicaSet') return [];
  const serviceArn = serviceArnOfUid(o.workload.uid);
  return serviceArn === undefined ? [] : [`workload/${o.workload.clusterId}/${serviceArn}`];
}

interface DescribeRound {
  /** serviceArn -> its objects (none: gone). */
  byService: Map<string, ClusterObject[]>;
  /** Services whose children `childKeysOf` named since. */
  expanded: Set<string>;
}

export class ServiceSource extends EcsSourceBase implements WatchSource<ClusterObject> {
  /** Scheduler activity seen by the tasks source. */
  readonly touches = new Subject<ServiceTouch[]>();
  readonly indexers: Indexers<ClusterObject> = {
    [SERVICE_INDEX]: serviceKeyOf,
    [CLUSTER_INDEX]: clusterIdOf,
  };
  private lastRound: DescribeRound | undefined;

  constructor(rc: RegionContext, feed: EcsFeed) {
    super(rc, feed, 'services');
  }

  list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    this.lastRound = undefined;
    return this.listPerCluster(pageToken, async (clusterArn, apiToken) => {
      const page = await listServicePage(this.rc, clusterArn, apiToken);
      let items: ClusterObject[] = [];
      if (page.arns.length > 0) {
        items = await normalizeServices(this.rc, await describeServices(this.rc, clusterArn, page.arns));
      }
      return { items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    });
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const round = this.lastRound;
    this.lastRound = undefined;
    const byCluster = new Map<string, Set<string>>();
    for (const key of keys) {
      const p = parseKey(key);
      if (!p || p.kind !== 'workload') continue;
      const serviceArn = serviceArnOfUid(p.uid);
      const clusterArn = await this.rc.directory.arnOf(p.clusterId);
      if (serviceArn === undefined || clusterArn === undefined) continue;
      let set = byCluster.get(clusterArn);
      if (!set) byCluster.set(clusterArn, (set = new Set()));
      set.add(serviceArn);
    }
    const found = new Map<string, ClusterObject>();
    const served = round !== undefined && this.answersFrom(round, keys, byCluster);
    if (served) {
      for (const objs of round.byService.values()) for (const o of objs) found.set(objectKey(o), o);
    } else {
      const next: DescribeRound = { byService: new Map(), expanded: new Set() };
      for (const [clusterArn, services] of byCluster) {
        for (const s of services) next.byService.set(s, []);
        const objs = await this.describe(clusterArn, [...services]);
        for (const o of objs) {
          found.set(objectKey(o), o);
          const serviceArn = o.kind === 'workload' ? serviceArnOfUid(o.workload.uid) : undefined;
          if (serviceArn !== undefined) next.byService.get(serviceArn)?.push(o);
        }
        if (objs.length > 0) this.rc.touch(clusterArn);
      }
      this.lastRound = next;
    }
    return new Map(keys.map((k) => [k, found.get(k)]));
  }

  /** Whether `keys` are only ReplicaSets of services the round read and was asked the children of. */
  private answersFrom(round: DescribeRound, keys: string[], byCluster: Map<string, Set<string>>): boolean {
    if (byCluster.size === 0) return false;
    for (const key of keys) {
      const p = parseKey(key);
      if (p?.kind === 'workload' && round.byService.has(p.uid)) return false; // a service itself
    }
    for (const services of byCluster.values()) {
      for (const s of services) if (!round.expanded.has(s)) return false;
    }
    return true;
  }

  /** The ReplicaSet keys of a service as its last read showed them. */
  childKeysOf(parent: ClusterObject): string[] {
    if (parent.kind !== 'workload' || parent.workload.kind !== 'Deployment') return [];
    const round = this.lastRound;
    const objs = round?.byService.get(parent.workload.uid);
    if (round === undefined || objs === undefined) return [];
    round.expanded.add(parent.workload.uid);
    const parentKey = objectKey(parent);
    return objs.map((o) => objectKey(o)).filter((k) => k !== parentKey);
  }

  private async describe(clusterArn: string, services: string[]): Promise<ClusterObject[]> {
    try {
      return await normalizeServices(this.rc, await describeServices(this.rc, clusterArn, services));
    } catch (err) {
      // The cluster is gone: so are its services.
      if (err instanceof Error && err.name === 'ClusterNotFoundException') return [];
      throw err;
    }
  }

  private serviceArn(t: ServiceTouch): string {
    if (t.service.startsWith('arn:')) return t.service;
    const clusterName = t.clusterArn.slice(t.clusterArn.indexOf(':cluster/') + ':cluster/'.length);
    return ecsArn(this.rc.region, this.rc.account, `service/${clusterName}/${t.service}`);
  }

  private familyOf(t: ServiceTouch): Hint<ClusterObject> {
    this.rc.directory.learn(t.clusterArn);
    return { type: 'family', key: workloadKey(t.clusterArn, this.serviceArn(t)), index: SERVICE_INDEX };
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    const fromFeed = this.feedHints(fromCursor, (r) => {
      if (r.kind === 'service') return [this.familyOf({ clusterArn: r.clusterArn, service: r.service })];
      if (r.kind === 'cluster' && r.deleted) return this.clusterGone(r.clusterArn);
      return [];
    });
    // The stream ends with the feed's (the engine resubscribes); touches only add to it.
    return new Observable<Hint<ClusterObject>>((sub) => {
      const s = fromFeed.subscribe(sub);
      s.add(this.touches.subscribe((touches) => touches.forEach((t) => sub.next(this.familyOf(t)))));
      return () => s.unsubscribe();
    });
  }
}
