/**
 * WatchSource `ecs/<account>/<region>/clusters`: each ECS cluster as a model Cluster plus its
 * Namespace (named after the cluster, labels = cluster tags). List: ListClusters (shared directory)
 * + DescribeClusters 100 a call with TAGS. get/getMany: DescribeClusters. Hints: CloudTrail cluster
 * events (CreateCluster, UpdateCluster, DeleteCluster, PutClusterCapacityProviders, TagResource, ...).
 * A cluster that is INACTIVE or missing is gone (get returns undefined).
 */
import type { Observable } from 'rxjs';
import { objectKey } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, ListPage, WatchSource } from '../../src/watch/source.js';
import type { EcsFeed } from './event-source.js';
import { clusterKey, namespaceKey, parseKey } from './keys.js';
import { DESCRIBE_CLUSTERS_MAX, describeClusters, normalizeClusters } from './lister.js';
import { clusterNameOf } from './normalizer.js';
import { clusterPageTokens } from './paging.js';
import type { RegionContext } from './region.js';
import { EcsSourceBase, listPage } from './source-base.js';

export { DIRECTORY_SHARE_MS } from './source-base.js';

export class ClusterSource extends EcsSourceBase implements WatchSource<ClusterObject> {
  constructor(rc: RegionContext, feed: EcsFeed) {
    super(rc, feed, 'clusters');
  }

  async list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    const cursor = await this.startListing(pageToken);
    const offset = this.pagePosition(pageToken).c;
    const arns = this.snapshot.slice(offset, offset + DESCRIBE_CLUSTERS_MAX);
    const items = arns.length > 0 ? normalizeClusters(this.rc, await describeClusters(this.rc, arns)) : [];
    const next = offset + DESCRIBE_CLUSTERS_MAX;
    return listPage(
      items,
      next < this.snapshot.length ? clusterPageTokens.encode({ c: next }) : undefined,
      cursor,
    );
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const arns = new Set<string>();
    for (const key of keys) {
      const p = parseKey(key);
      if (!p || (p.kind !== 'cluster' && p.kind !== 'namespace')) continue;
      const arn = await this.rc.directory.arnOf(p.clusterId);
      if (arn !== undefined) arns.add(arn);
    }
    const found = new Map<string, ClusterObject>();
    if (arns.size > 0) {
      for (const o of normalizeClusters(this.rc, await describeClusters(this.rc, [...arns])))
        found.set(objectKey(o), o);
    }
    return new Map(keys.map((k) => [k, found.get(k)]));
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    return this.feedHints(fromCursor, (r) => {
      if (r.kind !== 'cluster') return [];
      this.rc.directory.learn(r.clusterArn);
      this.rc.directory.invalidate();
      if (!r.deleted) this.rc.touch(r.clusterArn);
      const type = r.deleted ? 'deleted' : 'changed';
      return [
        { type, key: clusterKey(r.clusterArn) },
        { type, key: namespaceKey(r.clusterArn, clusterNameOf(r.clusterArn)) },
      ];
    });
  }
}
