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
 *
 * Memory: what is known of each task (cluster, service, whether it is still starting) is read from
 * the engine's store (`attachStore`, the task keys of a cluster through its CLUSTER_INDEX), not kept
 * a second time here. Without an attached store the source still answers correctly, but vanished
 * tasks cost a DescribeTasks call each. Kept here only until the engine reads them: the keys a
 * ListTasks showed gone (answered without a Describe call).
 */
import type { Observable } from 'rxjs';
import { clusterId } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, Indexers, ListPage, PollToken, WatchSource } from '../../src/watch/source.js';
import type { EcsFeed } from './event-source.js';
import type { TaskStateRef } from './event-mapping.js';
import { CLUSTER_INDEX, EcsSourceBase, clusterIdOf, listPage } from './source-base.js';
import { parseKey, workloadKey } from './keys.js';
import { describeTasks, listTaskPage, normalizeTasks } from './lister.js';
import { normalizeTask } from './normalizer.js';
import { clusterPageTokens } from './paging.js';
import type { RegionContext } from './region.js';
import type { ServiceTouch } from './service-source.js';
import { TaskPoll } from './task-poll.js';

/** A task a ListTasks no longer shows: its cluster, and its service when it belonged to one. */
interface VanishedTask {
  clusterArn: string;
  service: string | undefined;
}

const TRANSIENT = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

/**
 * Pushed mode: the most reconciliation slices one poll lists when polls fell behind. A poll holds
 * the engine's worker while it lists, and its ListTasks pages are paced by the budget (about 5 a
 * second at 25 %, after a burst of 25): two slices of 1,000-task clusters fit the burst, four
 * delayed pushed events by about 4 s, a whole backlog by a sweep (16 of 100 missed in the bench).
 */
const CATCH_UP_SLICES_MAX = 2;

/** Pushed mode: the feed's state and how often the ListTasks reconciliation runs. */
export interface PushedTasks {
  readonly reconcileIntervalMs: number;
  /** True while the pushed feed fails or is silent (poll at the normal interval). */
  fallback(): boolean;
  /** A reconciliation found `changes` the feed did not deliver. */
  reconciled(changes: number): void;
}

export class TaskSource extends EcsSourceBase implements WatchSource<ClusterObject> {
  readonly cheapPoll: TaskPoll;
  private listedStopped = false;
  readonly indexers: Indexers<ClusterObject> = { [CLUSTER_INDEX]: clusterIdOf };
  /** Known tasks a ListTasks made after we saw them no longer shows: gone, no Describe needed. */
  private readonly vanished = new Map<string, VanishedTask | undefined>();
  /** Keys described while a cheap poll runs (its ListTasks may predate them); undefined otherwise. */
  private describedDuringPoll: Set<string> | undefined;
  /** Pushed mode: the first cluster of the next reconciliation slice. */
  private rotation = 0;
  /**
   * Pushed mode: when the next slice is due. The first is due one slice interval after start, so
   * every cluster is reconciled within one period of the start as well as of any later moment.
   */
  private nextSliceAtMs: number | undefined;
  private readonly startedAtMs: number;
  /** When the last list completed (every cluster read), until the next poll plans from it. */
  private listCompletedAtMs: number | undefined;

  constructor(
    rc: RegionContext,
    feed: EcsFeed,
    pollIntervalMs: number,
    private readonly onServiceTouch: (touches: ServiceTouch[]) => void,
    private readonly pushed?: PushedTasks,
  ) {
    super(rc, feed, 'tasks');
    this.startedAtMs = rc.deps.scheduler.now();
    this.cheapPoll = new TaskPoll(rc, pollIntervalMs, {
      unsettled: (key) => {
        const o = this.store.get(key);
        return o?.kind === 'workload' && TRANSIENT.has(o.workload.status ?? '');
      },
      pollStarted: () => {
        this.describedDuringPoll = new Set();
      },
      polled: (current, clusters) => this.polled(current, clusters),
      plan: (clusters) => this.planPoll(clusters),
    });
  }

  async list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    const cursor = await this.startListing(pageToken);
    const tok = this.pagePosition(pageToken);
    const phase = tok.p === 'STOPPED' ? 'STOPPED' : 'RUNNING';
    const clusterArn = this.snapshot[tok.c];
    let items: ClusterObject[] = [];
    let next: string | undefined;
    if (clusterArn !== undefined) {
      const page = await listTaskPage(this.rc, clusterArn, phase, tok.t);
      if (page.arns.length > 0) {
        const tasks = await describeTasks(this.rc, clusterArn, page.arns);
        items = await normalizeTasks(this.rc, tasks);
        for (const t of tasks) {
          if (!t.taskArn) continue;
          const key = workloadKey(clusterArn, t.taskArn);
          if (phase === 'STOPPED' || isGone(t.desiredStatus, t.lastStatus)) this.vanished.set(key, undefined);
          else this.describedDuringPoll?.add(key);
        }
      }
      const stoppedToo = !this.listedStopped;
      if (page.nextToken) next = clusterPageTokens.encode({ c: tok.c, t: page.nextToken, p: phase });
      else if (phase === 'RUNNING' && stoppedToo) next = clusterPageTokens.encode({ c: tok.c, p: 'STOPPED' });
      else if (tok.c + 1 < this.snapshot.length) next = clusterPageTokens.encode({ c: tok.c + 1 });
      else this.listedStopped = true;
    }
    if (next === undefined) this.listCompletedAtMs = this.rc.deps.scheduler.now();
    return listPage(items, next, cursor);
  }

  /**
   * Pushed mode: the next slice of clusters in rotation (every cluster once per reconcile
   * interval; none when no slice is due). Undefined (a full poll) in fallback.
   */
  private planPoll(clusters: string[]): string[] | undefined {
    const pushed = this.pushed;
    if (pushed === undefined || pushed.fallback() || clusters.length === 0) return undefined;
    // A due slice waits for the next poll, up to one poll interval: the rotation runs that much
    // short of the period, so every cluster is listed within reconcileIntervalMs of its last list.
    const pollMs = this.cheapPoll.intervalMs;
    const rotationMs = Math.max(pollMs, pushed.reconcileIntervalMs - pollMs);
    const perPoll = Math.max(1, Math.ceil((clusters.length * pollMs) / rotationMs));
    const picked: string[] = [];
    const now = this.rc.deps.scheduler.now();
    // A slice of perPoll clusters is due every rotationMs × perPoll / clusters: each cluster once
    // a period. Polls come later than their interval when the budget stretches them
    // or a poll takes long: the slices due since the last one are worked off CATCH_UP_SLICES_MAX a
    // poll (a backlog of more than a whole rotation is dropped), so the rotation keeps its period
    // unless the polls stay that many slices apart, and no poll becomes a sweep that holds the
    // engine's worker and the pushed events behind it. A completed list read every cluster: the
    // rotation starts afresh one slice after it (no backlog from before a long relist).
    const sliceIntervalMs = (rotationMs * perPoll) / clusters.length;
    if (this.listCompletedAtMs !== undefined) {
      this.nextSliceAtMs = Math.max(this.nextSliceAtMs ?? 0, this.listCompletedAtMs + sliceIntervalMs);
      this.listCompletedAtMs = undefined;
    }
    this.nextSliceAtMs ??= this.startedAtMs + sliceIntervalMs;
    if (now >= this.nextSliceAtMs) {
      const due = 1 + Math.floor((now - this.nextSliceAtMs) / sliceIntervalMs);
      const slices = Math.min(due, CATCH_UP_SLICES_MAX);
      const count = Math.min(clusters.length, slices * perPoll);
      for (let i = 0; i < count; i++) picked.push(clusters[(this.rotation + i) % clusters.length] as string);
      this.rotation = (this.rotation + count) % clusters.length;
      this.nextSliceAtMs += slices * sliceIntervalMs;
      if (now - this.nextSliceAtMs >= rotationMs) this.nextSliceAtMs = now;
    }
    return picked;
  }

  /** After a cheap poll: every task we hold in a polled cluster that the poll did not list is gone. */
  private polled(current: ReadonlyMap<string, PollToken>, clusters: string[]): void {
    const described = this.describedDuringPoll;
    this.describedDuringPoll = undefined;
    let changes = 0;
    for (const clusterArn of clusters) {
      for (const key of this.store.byIndex(CLUSTER_INDEX, clusterId('ECS', clusterArn))) {
        if (current.has(key) || described?.has(key)) continue;
        const o = this.store.get(key);
        if (o?.kind === 'workload') {
          this.vanished.set(key, { clusterArn, service: serviceOf(o) });
          changes++;
        }
      }
    }
    if (this.pushed !== undefined) {
      for (const key of current.keys()) if (!this.store.has(key)) changes++;
      this.pushed.reconciled(changes);
    }
  }

  /**
   * A task's state from its event: a task we hold gets the event's state (no call; its tags, which
   * events do not carry, are kept), a task first seen is read (DescribeTasks with TAGS, batched by
   * the engine), a stopped one is gone (answered without a call).
   */
  private async fromTaskState(r: TaskStateRef): Promise<Hint<ClusterObject>[]> {
    this.rc.directory.learn(r.clusterArn);
    this.rc.touch(r.clusterArn);
    const key = workloadKey(r.clusterArn, r.taskArn);
    const held = this.store.get(key);
    if (isGone(r.task.desiredStatus, r.task.lastStatus)) {
      const service = held?.kind === 'workload' ? serviceOf(held) : undefined;
      this.vanished.set(key, held !== undefined ? { clusterArn: r.clusterArn, service } : undefined);
      return [{ type: 'deleted', key }];
    }
    this.vanished.delete(key);
    if (held?.kind !== 'workload') return [{ type: 'changed', key }];
    const arn = r.task.taskDefinitionArn;
    const tds =
      arn !== undefined ? await this.rc.taskDefs.resolveMany(this.rc.clients.ecs, [arn]) : undefined;
    const state = normalizeTask(
      this.rc.ctx,
      r.task,
      arn !== undefined ? tds?.get(arn) : undefined,
      this.rc.onUnresolved,
    );
    if (state.kind === 'workload') state.workload.labels = held.workload.labels;
    return [{ type: 'changed', key, state }];
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const out = new Map<string, ClusterObject | undefined>();
    const byCluster = new Map<string, Map<string, string>>(); // clusterArn -> taskArn -> key
    const touches: ServiceTouch[] = [];
    for (const key of keys) {
      out.set(key, undefined);
      if (this.vanished.has(key)) {
        // Reported with the new tasks of the same batch: one service re-describe.
        const v = this.vanished.get(key);
        this.vanished.delete(key);
        if (v?.service !== undefined) touches.push({ clusterArn: v.clusterArn, service: v.service });
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
      let tasks;
      try {
        tasks = await describeTasks(this.rc, clusterArn, [...tasksByArn.keys()]);
      } catch (err) {
        if (err instanceof Error && err.name === 'ClusterNotFoundException') continue;
        throw err;
      }
      const objs = await normalizeTasks(this.rc, tasks);
      tasks.forEach((t, i) => {
        const key = t.taskArn ? tasksByArn.get(t.taskArn) : undefined;
        const obj = objs[i];
        if (key === undefined || obj === undefined) return;
        const held = this.store.has(key);
        const group = t.group ?? '';
        if (isGone(t.desiredStatus, t.lastStatus)) {
          if (held && group.startsWith('service:')) touches.push({ clusterArn, service: group.slice(8) });
          return;
        }
        if (!held && group.startsWith('service:')) touches.push({ clusterArn, service: group.slice(8) });
        this.describedDuringPoll?.add(key);
        out.set(key, obj);
      });
      if (tasks.length > 0) this.rc.touch(clusterArn);
    }
    if (touches.length > 0) this.onServiceTouch(dedupe(touches));
    return out;
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    return this.feedHints(fromCursor, (r) => {
      if (r.kind === 'taskState') return this.fromTaskState(r);
      if (r.kind === 'task') {
        this.rc.directory.learn(r.clusterArn);
        this.vanished.delete(workloadKey(r.clusterArn, r.taskArn));
        return [{ type: 'changed', key: workloadKey(r.clusterArn, r.taskArn) }];
      }
      if (r.kind === 'cluster' && r.deleted) return this.clusterGone(r.clusterArn);
      return [];
    });
  }
}

/** The service a task belongs to: its Deployment owner (from the task's `service:` group). */
function serviceOf(o: ClusterObject & { kind: 'workload' }): string | undefined {
  return o.workload.owners.find((r) => r.kind === 'Deployment')?.name;
}

function isGone(desiredStatus: string | undefined, lastStatus: string | undefined): boolean {
  return desiredStatus === 'STOPPED' || lastStatus === 'STOPPED';
}

function dedupe(touches: ServiceTouch[]): ServiceTouch[] {
  const m = new Map<string, ServiceTouch>();
  for (const t of touches) m.set(`${t.clusterArn}\u0000${t.service}`, t);
  return [...m.values()];
}
