/**
 * WatchSource `ecs/<account>/<region>/nodes`: each container instance as a Node (EC2 instance id,
 * instance type, AMI, AZ, OS, agent and Docker versions). List: per cluster ListContainerInstances
 * (100 a page) + DescribeContainerInstances (100 a call). get/getMany: DescribeContainerInstances per
 * cluster. Hints: CloudTrail Register/DeregisterContainerInstance, UpdateContainerInstancesState,
 * UpdateContainerAgent, TagResource. An INACTIVE or missing instance is gone.
 */
import { Observable } from 'rxjs';
import { objectHash, objectKey } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, ListPage, WatchSource } from '../../src/watch/source.js';
import type { AuditFeed } from './audit-source.js';
import { DIRECTORY_SHARE_MS } from './cluster-source.js';
import { nodeKey, parseKey } from './keys.js';
import {
  describeContainerInstances,
  listContainerInstancePage,
  normalizeContainerInstances,
} from './lister.js';
import { orderOfObject } from './normalizer.js';
import { decodePageToken, encodePageToken } from './paging.js';
import type { RegionContext } from './region.js';

export class NodeSource implements WatchSource<ClusterObject> {
  readonly id: string;
  private snapshot: string[] = [];
  private readonly known = new Map<string, string>(); // key -> clusterArn

  constructor(
    private readonly rc: RegionContext,
    private readonly feed: AuditFeed,
  ) {
    this.id = `${rc.idPrefix}/nodes`;
  }

  keyOf(o: ClusterObject): string {
    return objectKey(o);
  }
  orderOf(o: ClusterObject): number | undefined {
    return orderOfObject(o);
  }
  hashOf(o: ClusterObject): string {
    return objectHash(o);
  }

  async list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    let cursor: string | undefined;
    if (pageToken === undefined) {
      cursor = this.feed.cursorNow();
      this.snapshot = await this.rc.directory.list(DIRECTORY_SHARE_MS);
    }
    const tok = decodePageToken(pageToken);
    const clusterArn = this.snapshot[tok.c];
    let items: ClusterObject[] = [];
    let next: string | undefined;
    if (clusterArn !== undefined) {
      const page = await listContainerInstancePage(this.rc, clusterArn, tok.t);
      if (page.arns.length > 0) {
        items = normalizeContainerInstances(
          clusterArn,
          await describeContainerInstances(this.rc, clusterArn, page.arns),
        );
        for (const o of items) this.known.set(objectKey(o), clusterArn);
      }
      if (page.nextToken) next = encodePageToken({ c: tok.c, t: page.nextToken });
      else if (tok.c + 1 < this.snapshot.length) next = encodePageToken({ c: tok.c + 1 });
    }
    return {
      items,
      ...(next !== undefined ? { nextPageToken: next } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    };
  }

  async get(key: string): Promise<ClusterObject | undefined> {
    return (await this.getMany([key])).get(key);
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
        for (const o of objs) {
          found.set(objectKey(o), o);
          this.known.set(objectKey(o), clusterArn);
        }
      } catch (err) {
        if (!(err instanceof Error && err.name === 'ClusterNotFoundException')) throw err;
      }
    }
    for (const k of keys) if (!found.has(k)) this.known.delete(k);
    return new Map(keys.map((k) => [k, found.get(k)]));
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    return new Observable<Hint<ClusterObject>>((sub) => {
      const s = this.feed.items(fromCursor).subscribe({
        next: (item) => {
          if (item.type !== 'refs') {
            sub.next(item);
            return;
          }
          for (const r of item.refs) {
            if (r.kind === 'node') {
              this.rc.directory.learn(r.clusterArn);
              sub.next({
                type: r.deleted ? 'deleted' : 'changed',
                key: nodeKey(r.clusterArn, r.containerInstanceArn),
              });
              if (!r.deleted) this.rc.touch(r.clusterArn);
            } else if (r.kind === 'cluster' && r.deleted) {
              for (const [key, c] of this.known) if (c === r.clusterArn) sub.next({ type: 'deleted', key });
            }
          }
        },
        error: (err: unknown) => sub.error(err),
        complete: () => sub.complete(),
      });
      return () => s.unsubscribe();
    });
  }
}
