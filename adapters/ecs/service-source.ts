/**
 * WatchSource `ecs/<account>/<region>/services`: each ECS service as a Deployment and each of its
 * deployments / task sets as a ReplicaSet owned by it. List: per cluster ListServices (100 a page)
 * + DescribeServices (10 a call, TAGS) + each task definition once ever. get/getMany: DescribeServices
 * grouped per cluster, 10 a call.
 *
 * Hints: CloudTrail service events (Create/Update/DeleteService, task-set calls, TagResource) and
 * "a task of this service started or stopped" from the tasks source (scheduler work CloudTrail does
 * not show). Because a service change can create or retire deployments the engine does not know,
 * a hinted service is described here and every object of it is sent with its state; ReplicaSets that
 * vanished are sent as `deleted`.
 */
import { Observable, Subject } from 'rxjs';
import { objectKey } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, ListPage, WatchSource } from '../../src/watch/source.js';
import type { AuditFeed } from './audit-source.js';
import { EcsSourceBase } from './source-base.js';
import { parseKey, serviceArnOfUid, workloadKey } from './keys.js';
import { describeServices, listServicePage, normalizeServices } from './lister.js';
import { ecsArn } from './normalizer.js';
import type { RegionContext } from './region.js';

export interface ServiceTouch {
  clusterArn: string;
  /** Service ARN or name. */
  service: string;
  deleted?: boolean;
}

export class ServiceSource extends EcsSourceBase implements WatchSource<ClusterObject> {
  /** Scheduler activity seen by the tasks source. */
  readonly touches = new Subject<ServiceTouch[]>();
  /** serviceArn -> keys of its objects we have reported (service + replica sets). */
  private readonly known = new Map<string, Set<string>>();

  constructor(rc: RegionContext, feed: AuditFeed) {
    super(rc, feed, 'services');
  }

  list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    return this.listPerCluster(pageToken, async (clusterArn, apiToken) => {
      const page = await listServicePage(this.rc, clusterArn, apiToken);
      let items: ClusterObject[] = [];
      if (page.arns.length > 0) {
        items = await normalizeServices(this.rc, await describeServices(this.rc, clusterArn, page.arns));
        this.remember(items);
      }
      return { items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    });
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
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
    for (const [clusterArn, services] of byCluster) {
      for (const o of await this.describe(clusterArn, [...services])) found.set(objectKey(o), o);
    }
    return new Map(keys.map((k) => [k, found.get(k)]));
  }

  private async describe(clusterArn: string, services: string[]): Promise<ClusterObject[]> {
    try {
      const objs = await normalizeServices(this.rc, await describeServices(this.rc, clusterArn, services));
      this.remember(objs);
      return objs;
    } catch (err) {
      // The cluster is gone: so are its services.
      if (err instanceof Error && err.name === 'ClusterNotFoundException') return [];
      throw err;
    }
  }

  private remember(objs: ClusterObject[]): void {
    for (const o of objs) {
      if (o.kind !== 'workload') continue;
      const serviceArn = serviceArnOfUid(o.workload.uid);
      if (serviceArn === undefined) continue;
      let set = this.known.get(serviceArn);
      if (!set) this.known.set(serviceArn, (set = new Set()));
      set.add(objectKey(o));
    }
  }

  private serviceArn(t: ServiceTouch): string {
    if (t.service.startsWith('arn:')) return t.service;
    const clusterName = t.clusterArn.slice(t.clusterArn.indexOf(':cluster/') + ':cluster/'.length);
    return ecsArn(this.rc.region, this.rc.account, `service/${clusterName}/${t.service}`);
  }

  /** Describes the touched services of one batch and turns them into hints with state. */
  private async resolve(touches: ServiceTouch[]): Promise<Hint<ClusterObject>[]> {
    const byCluster = new Map<string, Map<string, boolean>>();
    for (const t of touches) {
      const arn = this.serviceArn(t);
      let m = byCluster.get(t.clusterArn);
      if (!m) byCluster.set(t.clusterArn, (m = new Map()));
      m.set(arn, (m.get(arn) ?? false) || t.deleted === true);
    }
    const hints: Hint<ClusterObject>[] = [];
    for (const [clusterArn, services] of byCluster) {
      this.rc.directory.learn(clusterArn);
      const objs = await this.describe(clusterArn, [...services.keys()]);
      const present = new Set(objs.map((o) => objectKey(o)));
      for (const o of objs) hints.push({ type: 'changed', key: objectKey(o), state: o });
      for (const serviceArn of services.keys()) {
        const known = this.known.get(serviceArn) ?? new Set<string>();
        known.add(workloadKey(clusterArn, serviceArn));
        for (const key of known) if (!present.has(key)) hints.push({ type: 'deleted', key });
        const live = [...known].filter((k) => present.has(k));
        if (live.length > 0) this.known.set(serviceArn, new Set(live));
        else this.known.delete(serviceArn);
      }
      if (objs.length > 0) this.rc.touch(clusterArn);
    }
    return hints;
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    return new Observable<Hint<ClusterObject>>((sub) => {
      // Hints are produced in order: each batch is described before the next is looked at.
      let chain = Promise.resolve();
      const enqueue = (touches: ServiceTouch[], after?: Hint<ClusterObject>): void => {
        chain = chain.then(async () => {
          if (sub.closed) return;
          try {
            if (touches.length > 0) for (const h of await this.resolve(touches)) sub.next(h);
            if (after) sub.next(after);
          } catch (err) {
            sub.error(err);
          }
        });
      };
      const touchSub = this.touches.subscribe((t) => enqueue(t));
      const s = this.feed.items(fromCursor).subscribe({
        next: (item) => {
          if (item.type === 'refs') {
            const touches: ServiceTouch[] = [];
            for (const r of item.refs) {
              if (r.kind === 'service')
                touches.push({ clusterArn: r.clusterArn, service: r.service, deleted: r.deleted });
              if (r.kind === 'cluster' && r.deleted) {
                for (const serviceArn of this.known.keys()) {
                  if (
                    serviceArn.includes(
                      `:service/${r.clusterArn.slice(r.clusterArn.indexOf(':cluster/') + 9)}/`,
                    )
                  ) {
                    touches.push({ clusterArn: r.clusterArn, service: serviceArn, deleted: true });
                  }
                }
              }
            }
            enqueue(touches);
            return;
          }
          // Bookmarks and gaps follow the hints of their window.
          enqueue([], item);
        },
        error: (err: unknown) => sub.error(err),
        complete: () => {
          chain = chain.then(() => sub.complete());
        },
      });
      s.add(touchSub);
      return () => s.unsubscribe();
    });
  }
}
