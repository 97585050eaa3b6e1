/**
 * The tasks source's cheap poll: ListTasks (desiredStatus RUNNING, 100 a page) per cluster gives
 * the set of task ARNs; no Describe call. Tokens (engine contract): '' for a task that is new to us
 * or settled (the engine fetches it only when it does not hold it), a token that changes every poll
 * for a task we hold in a transient state (PROVISIONING / PENDING, digest not known yet), so the
 * engine describes only new ARNs, vanished ARNs and tasks still starting.
 *
 * Each cluster polled successfully moves its LAST SEEN. A cluster that vanished
 * (ClusterNotFoundException) contributes no tasks and refreshes the cluster directory.
 *
 * Pushed mode (`plan`): each poll lists only a slice of the clusters, in rotation, so that every
 * cluster is listed once per `reconcileIntervalMs` (the first slice one slice interval after start,
 * so a change the feed dropped is found within one period, even right after start) without one
 * long sweep holding the engine's worker (pushed events wait behind it). Such a poll is a
 * `PartialPoll` scoped to the listed clusters (the store's cluster index): the engine compares
 * only their tasks, so a poll that lists nothing costs nothing. The feed being live, every cluster
 * of the region is watched: each such poll moves the LAST SEEN of all of them, not only of its
 * slice. While the pushed feed is in fallback every poll is a full one.
 *
 * Failure: any other error rejects the poll (the engine backs off); nothing is half-reported.
 */
import { clusterId } from '../../src/model/index.js';
import { PartialPoll } from '../../src/watch/source.js';
import type { CheapPoll, PollToken } from '../../src/watch/source.js';
import { CLUSTER_INDEX } from './source-base.js';
import { listTaskPage } from './lister.js';
import { workloadKey } from './keys.js';
import { checkPageCount } from '../aws/paging.js';
import type { RegionContext } from './region.js';

/** How stale the cluster list used by the poll may be (new clusters also arrive by CloudTrail). */
const POLL_DIRECTORY_MAX_AGE_MS = 5 * 60 * 1000;
const POLL_PARALLEL_CLUSTERS = 4;

export interface TaskPollState {
  /** Keys of tasks we hold in a transient state. */
  unsettled(key: string): boolean;
  /** Called before the first ListTasks of a poll. */
  pollStarted(): void;
  /** Called with the keys (and tokens) this poll listed, and the clusters it listed completely. */
  polled(current: ReadonlyMap<string, PollToken>, clusters: string[]): void;
  /** Pushed mode: which of `clusters` this poll lists (undefined: every cluster, a full poll). */
  plan?(clusters: string[]): string[] | undefined;
}

export class TaskPoll implements CheapPoll {
  private seq = 0;
  /** Cheap polls completed (for measurements). */
  polls = 0;

  constructor(
    private readonly rc: RegionContext,
    readonly intervalMs: number,
    private readonly state: TaskPollState,
  ) {}

  async poll(): Promise<Map<string, PollToken>> {
    this.seq++;
    this.state.pollStarted();
    const all = await this.rc.directory.list(POLL_DIRECTORY_MAX_AGE_MS);
    const plan = this.state.plan?.(all);
    const clusters = plan ?? all;
    const tokens =
      plan !== undefined
        ? new PartialPoll({ index: CLUSTER_INDEX, values: plan.map((arn) => clusterId('ECS', arn)) })
        : new Map<string, PollToken>();
    const polledClusters: string[] = [];
    const gone = new Set<string>();
    // A few clusters at a time: the budget paces the calls, parallelism hides the round trips.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < clusters.length) {
        const clusterArn = clusters[next++];
        if (clusterArn === undefined) break;
        const keys = await this.listCluster(clusterArn);
        polledClusters.push(clusterArn);
        if (keys === undefined) {
          gone.add(clusterArn);
          continue;
        }
        for (const k of keys) tokens.set(k, this.state.unsettled(k) ? `pending-${this.seq}` : '');
        this.rc.touch(clusterArn);
      }
    };
    await Promise.all(Array.from({ length: Math.min(POLL_PARALLEL_CLUSTERS, clusters.length) }, worker));
    if (plan !== undefined) for (const c of all) if (!gone.has(c)) this.rc.touch(c);
    this.polls++;
    this.state.polled(tokens, polledClusters);
    return tokens;
  }

  /** Task keys of one cluster (all pages); undefined when the cluster no longer exists. */
  private async listCluster(clusterArn: string): Promise<string[] | undefined> {
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    try {
      do {
        checkPageCount('ListTasks', ++pages);
        const page = await listTaskPage(this.rc, clusterArn, 'RUNNING', token);
        for (const arn of page.arns) keys.push(workloadKey(clusterArn, arn));
        token = page.nextToken;
      } while (token !== undefined);
    } catch (err) {
      if (err instanceof Error && err.name === 'ClusterNotFoundException') {
        this.rc.directory.invalidate();
        return undefined;
      }
      throw err;
    }
    return keys;
  }
}
