/**
 * WatchSource `ecs/<account>/<region>/nodes`: each container instance as a Node (EC2 instance id,
 * instance type, AMI, AZ, OS, agent and Docker versions). List: per cluster ListContainerInstances
 * (100 a page) + DescribeContainerInstances (100 a call). get/getMany: DescribeContainerInstances per
 * cluster. Hints: CloudTrail Register/DeregisterContainerInstance, UpdateContainerInstancesState,
 * UpdateContainerAgent, TagResource; a deleted cluster gives a `deleted` hint per node the engine's
 * store holds in it (its CLUSTER_INDEX). An INACTIVE or missing instance is gone. In pushed mode a
 * "Container Instance State Change" event gives the full state of an instance we hold (no call;
 * an agent reconnect changes nothing we show, so it emits nothing); one first seen is read.
 */
import type { Observable } from 'rxjs';
import { objectKey } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, Indexers, ListPage, WatchSource } from '../../src/watch/source.js';
import type { EcsFeed } from './event-source.js';
import { CLUSTER_INDEX, EcsSourceBase, clusterIdOf } from './source-base.js';
import { nodeKey, parseKey } from './keys.js';
import {
  describeContainerInstances,
  listContainerInstancePage,
  normalizeContainerInstances,
} from './lister.js';
import { normalizeContainerInstance } from './normalizer.js';
import type { RegionContext } from './region.js';

export class NodeSource extends EcsSourceBase implements WatchSource<ClusterObject> {
  readonly indexers: Indexers<ClusterObject> = { [CLUSTER_INDEX]: clusterIdOf };

  constructor(rc: RegionContext, feed: EcsFeed) {
    super(rc, feed, 'nodes');
  }

  list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    return this.listPerCluster(pageToken, async (clusterArn, apiToken) => {
      const page = await listContainerInstancePage(this.rc, clusterArn, apiToken);
      let items: ClusterObject[] = [];
      if (page.arns.length > 0) {
        items = normalizeContainerInstances(
          clusterArn,
          await describeContainerInstances(this.rc, clusterArn, page.arns),
        );
      }
      return { items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    });
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const byCluster = new Map<string, string[]>();
    for (const key of keys) {
      const p = parseKey(key);
      if (!p || p.kind !== 'node') continue;
      const clusterArn = await this.rc.directory.arnOf(p.clusterId);
      if (clusterArn === undefined) continue;
      const list = byCluster.get(clusterArn) ?? [];
      list.push(p.id);
      byCluster.set(clusterArn, list);
    }
    const found = new Map<string, ClusterObject>();
    for (const [clusterArn, arns] of byCluster) {
      try {
        const objs = normalizeContainerInstances(
          clusterArn,
          await describeContainerInstances(this.rc, clusterArn, arns),
        );
        for (const o of objs) found.set(objectKey(o), o);
      } catch (err) {
        if (!(err instanceof Error && err.name === 'ClusterNotFoundException')) throw err;
      }
    }
    return new Map(keys.map((k) => [k, found.get(k)]));
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    return this.feedHints(fromCursor, (r) => {
      if (r.kind === 'nodeState') {
        const key = nodeKey(r.clusterArn, r.containerInstanceArn);
        this.rc.directory.learn(r.clusterArn);
        if (r.instance.status === 'INACTIVE') return [{ type: 'deleted', key }];
        this.rc.touch(r.clusterArn);
        if (!this.store.has(key)) return [{ type: 'changed', key }];
        return [{ type: 'changed', key, state: normalizeContainerInstance(r.clusterArn, r.instance) }];
      }
      if (r.kind === 'node') {
        this.rc.directory.learn(r.clusterArn);
        if (!r.deleted) this.rc.touch(r.clusterArn);
        return [
          { type: r.deleted ? 'deleted' : 'changed', key: nodeKey(r.clusterArn, r.containerInstanceArn) },
        ];
      }
      if (r.kind === 'cluster' && r.deleted) return this.clusterGone(r.clusterArn);
      return [];
    });
  }
}
