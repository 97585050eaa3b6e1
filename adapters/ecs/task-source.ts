/**
 * WatchSource `ecs/<account>/<region>/tasks`: each task as a Pod. List: per cluster ListTasks
 * RUNNING (and, on the adapter's first list only, STOPPED: tasks that ran within the last hour) +
 * DescribeTasks 100 a call with TAGS + task definitions once ever. get/getMany: DescribeTasks grouped
 * per cluster, 100 a call. A task whose desired or last status is STOPPED has left the cluster:
 * get returns undefined.
 *
 * Change detection: the cheap poll (task-poll.ts) for scheduler-started/stopped tasks, which never
 * appear in CloudTrail; CloudTrail RunTask / StartTask / StopTask / TagResource for the rest. A task
 * known to us that a later ListTasks no longer shows is answered as gone without a Describe call.
 * New or gone service tasks are reported to the services source (deployment progress).
 */
import type { Observable } from 'rxjs';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, ListPage, WatchSource } from '../../src/watch/source.js';
import type { AuditFeed } from './audit-source.js';
import { EcsSourceBase, listPage } from './source-base.js';
import { parseKey, workloadKey } from './keys.js';
import { describeTasks, listTaskPage, normalizeTasks } from './lister.js';
import { decodePageToken, encodePageToken } from './paging.js';
import type { RegionContext } from './region.js';
import type { ServiceTouch } from './service-source.js';
import { TaskPoll } from './task-poll.js';

interface KnownTask {
  clusterArn: string;
  group: string;
  settled: boolean;
  seenMs: number;
}

const TRANSIENT = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

export class TaskSource extends EcsSourceBase implements WatchSource<ClusterObject> {
  readonly cheapPoll: TaskPoll;
  private listedStopped = false;
  private readonly known = new Map<string, KnownTask>();
  /** Known tasks a ListTasks made after we saw them no longer shows: gone, no Describe needed. */
  private readonly vanished = new Map<string, KnownTask | undefined>();
  private pollStartedMs = 0;

  constructor(
    rc: RegionContext,
    feed: AuditFeed,
    pollIntervalMs: number,
    private readonly onServiceTouch: (touches: ServiceTouch[]) => void,
  ) {
    super(rc, feed, 'tasks');
    this.cheapPoll = new TaskPoll(rc, pollIntervalMs, {
      unsettled: (key) => this.known.get(key)?.settled === false,
      pollStarted: () => {
        this.pollStartedMs = this.rc.deps.scheduler.now();
      },
      polled: (current, clusters) => this.polled(current, clusters),
    });
  }

  async list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    const cursor = await this.startListing(pageToken);
    const tok = decodePageToken(pageToken);
    const phase = tok.p === 'STOPPED' ? 'STOPPED' : 'RUNNING';
    const clusterArn = this.snapshot[tok.c];
    let items: ClusterObject[] = [];
    let next: string | undefined;
    if (clusterArn !== undefined) {
      const seenMs = this.rc.deps.scheduler.now();
      const page = await listTaskPage(this.rc, clusterArn, phase, tok.t);
      if (page.arns.length > 0) {
        const tasks = await describeTasks(this.rc, clusterArn, page.arns);
        items = await normalizeTasks(this.rc, tasks);
        for (const t of tasks) {
          if (!t.taskArn) continue;
          const key = workloadKey(clusterArn, t.taskArn);
          if (phase === 'STOPPED' || isGone(t.desiredStatus, t.lastStatus)) this.vanished.set(key, undefined);
          else this.know(key, clusterArn, t.group, t.lastStatus, seenMs);
        }
      }
      const stoppedToo = !this.listedStopped;
      if (page.nextToken) next = encodePageToken({ c: tok.c, t: page.nextToken, p: phase });
      else if (phase === 'RUNNING' && stoppedToo) next = encodePageToken({ c: tok.c, p: 'STOPPED' });
      else if (tok.c + 1 < this.snapshot.length) next = encodePageToken({ c: tok.c + 1 });
      else this.listedStopped = true;
    }
    return listPage(items, next, cursor);
  }

  private know(
    key: string,
    clusterArn: string,
    group: string | undefined,
    lastStatus: string | undefined,
    seenMs: number,
  ): void {
    this.known.set(key, {
      clusterArn,
      group: group ?? '',
      settled: !TRANSIENT.has(lastStatus ?? ''),
      seenMs,
    });
  }

  private polled(current: Set<string>, clusters: string[]): void {
    const polled = new Set(clusters);
    for (const [key, k] of this.known) {
      if (current.has(key) || !polled.has(k.clusterArn) || k.seenMs >= this.pollStartedMs) continue;
      this.vanished.set(key, k);
      this.known.delete(key);
    }
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const out = new Map<string, ClusterObject | undefined>();
    const byCluster = new Map<string, Map<string, string>>(); // clusterArn -> taskArn -> key
    const touches: ServiceTouch[] = [];
    for (const key of keys) {
      out.set(key, undefined);
      if (this.vanished.has(key)) {
        // Reported with the new tasks of the same batch: one service re-describe.
        const k = this.vanished.get(key);
        this.vanished.delete(key);
        if (k?.group.startsWith('service:'))
          touches.push({ clusterArn: k.clusterArn, service: k.group.slice(8) });
        continue;
      }
      const p = parseKey(key);
      if (!p || p.kind !== 'workload') continue;
      const clusterArn = await this.rc.directory.arnOf(p.clusterId);
      if (clusterArn === undefined) continue;
      let m = byCluster.get(clusterArn);
      if (!m) byCluster.set(clusterArn, (m = new Map()));
      m.set(p.uid, key);
    }
    for (const [clusterArn, tasksByArn] of byCluster) {
      const seenMs = this.rc.deps.scheduler.now();
      let tasks;
      try {
        tasks = await describeTasks(this.rc, clusterArn, [...tasksByArn.keys()]);
      } catch (err) {
        if (err instanceof Error && err.name === 'ClusterNotFoundException') {
          for (const key of tasksByArn.values()) this.known.delete(key);
          continue;
        }
        throw err;
      }
      const objs = await normalizeTasks(this.rc, tasks);
      tasks.forEach((t, i) => {
        const key = t.taskArn ? tasksByArn.get(t.taskArn) : undefined;
        const obj = objs[i];
        if (key === undefined || obj === undefined) return;
        const before = this.known.get(key);
        const group = t.group ?? '';
        if (isGone(t.desiredStatus, t.lastStatus)) {
          this.known.delete(key);
          if (before && group.startsWith('service:')) touches.push({ clusterArn, service: group.slice(8) });
          return;
        }
        if (!before && group.startsWith('service:')) touches.push({ clusterArn, service: group.slice(8) });
        this.know(key, clusterArn, group, t.lastStatus, seenMs);
        out.set(key, obj);
      });
      for (const key of tasksByArn.values()) if (out.get(key) === undefined) this.known.delete(key);
      if (tasks.length > 0) this.rc.touch(clusterArn);
    }
    if (touches.length > 0) this.onServiceTouch(dedupe(touches));
    return out;
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    return this.feedHints(fromCursor, (r) => {
      if (r.kind === 'task') {
        this.rc.directory.learn(r.clusterArn);
        this.vanished.delete(workloadKey(r.clusterArn, r.taskArn));
        return [{ type: 'changed', key: workloadKey(r.clusterArn, r.taskArn) }];
      }
      if (r.kind === 'cluster' && r.deleted) {
        return [...this.known]
          .filter(([, k]) => k.clusterArn === r.clusterArn)
          .map(([key]) => ({ type: 'deleted', key }));
      }
      return [];
    });
  }
}

function isGone(desiredStatus: string | undefined, lastStatus: string | undefined): boolean {
  return desiredStatus === 'STOPPED' || lastStatus === 'STOPPED';
}

function dedupe(touches: ServiceTouch[]): ServiceTouch[] {
  const m = new Map<string, ServiceTouch>();
  for (const t of touches) m.set(`${t.clusterArn}\u0000${t.service}`, t);
  return [...m.values()];
}
