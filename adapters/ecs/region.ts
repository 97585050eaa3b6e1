/**
 * Everything the sources of one (account, region) share: the SDK clients, the normalization
 * context, the task-definition cache, the cluster directory (cluster id <-> ARN, from ListClusters,
 * shared so four sources listing at once cost one ListClusters), the unresolved-digest counter and
 * the activity (LAST SEEN) sink.
 *
 * Failure: directory refreshes reject with the call's error; concurrent refreshes share one call.
 */
import { ListClustersCommand } from '@aws-sdk/client-ecs';
import { clusterId } from '../../src/model/index.js';
import type { ActivityReporter } from '../../src/provider/activity.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { callEcs } from './call.js';
import type { RegionClients } from './client.js';
import type { NormalizeContext, UnresolvedSighting } from './normalizer.js';
import { clusterNameOf, ecsArn } from './normalizer.js';
import { checkPageCount, nextPageToken } from '../aws/paging.js';
import type { TaskDefinitions } from './task-definitions.js';

export const CONTROLLER_NAME = 'sightline-ecs';
const UNRESOLVED_MEMORY = 50_000;
/** An unknown cluster id refreshes the directory unless it was read this recently. */
const UNKNOWN_ID_REFRESH_MS = 5_000;

export class ClusterDirectory {
  private arns: string[] | undefined;
  private fetchedAtMs = -Infinity;
  private inflight: Promise<string[]> | undefined;
  private readonly byId = new Map<string, string>();

  constructor(private readonly rc: RegionContext) {}

  /** Cluster ARNs, from a ListClusters made at most `maxAgeMs` ago (shared when in flight). */
  async list(maxAgeMs: number): Promise<string[]> {
    if (this.inflight) return this.inflight;
    if (this.arns && this.rc.deps.scheduler.now() - this.fetchedAtMs <= maxAgeMs) return this.arns;
    this.inflight = this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  invalidate(): void {
    this.fetchedAtMs = -Infinity;
  }

  /** Remembers a cluster ARN seen elsewhere (a describe, an audit event). */
  learn(clusterArn: string): string {
    const id = clusterId('ECS', clusterArn);
    this.byId.set(id, clusterArn);
    return id;
  }

  /** The ARN of a cluster id, refreshing the directory once when unknown. */
  async arnOf(id: string): Promise<string | undefined> {
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    await this.list(UNKNOWN_ID_REFRESH_MS);
    return this.byId.get(id);
  }

  private async fetch(): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      checkPageCount('ListClusters', ++pages);
      const sent = nextToken;
      const out = await callEcs(this.rc.deps, 'ListClusters', () =>
        this.rc.clients.ecs.send(
          new ListClustersCommand({ maxResults: 100, ...(nextToken ? { nextToken } : {}) }),
        ),
      );
      for (const a of out.clusterArns ?? []) arns.push(a);
      nextToken = nextPageToken('ListClusters', sent, out.nextToken);
    } while (nextToken);
    for (const a of arns) this.learn(a);
    this.arns = arns;
    this.fetchedAtMs = this.rc.deps.scheduler.now();
    return arns;
  }
}

export class RegionContext {
  readonly directory: ClusterDirectory;
  readonly ctx: NormalizeContext;
  private readonly unresolvedSeen = new Set<string>();

  constructor(
    readonly account: string,
    readonly clients: RegionClients,
    readonly deps: ProviderDeps,
    readonly taskDefs: TaskDefinitions,
    private readonly activity: ActivityReporter,
  ) {
    this.ctx = { account, region: clients.region, tenant: deps.tenant, agentVersion: deps.agentVersion };
    this.directory = new ClusterDirectory(this);
  }

  get region(): string {
    return this.clients.region;
  }

  /** Source id prefix: `ecs/<account>/<region>`. */
  get idPrefix(): string {
    return `ecs/${this.account}/${this.region}`;
  }

  /** A cluster name or ARN -> its ARN in this account and region. */
  clusterArn(ref: string): string {
    return ref.startsWith('arn:') ? ref : ecsArn(this.region, this.account, `cluster/${ref}`);
  }

  clusterName(ref: string): string {
    return clusterNameOf(ref);
  }

  /** Counts an image without digest once per (task, container, reason). */
  readonly onUnresolved = (s: UnresolvedSighting): void => {
    const k = `${s.taskArn}\u0000${s.container}\u0000${s.reason}`;
    if (this.unresolvedSeen.has(k)) return;
    if (this.unresolvedSeen.size >= UNRESOLVED_MEMORY) this.unresolvedSeen.clear();
    this.unresolvedSeen.add(k);
    this.deps.metrics.unresolvedDigests.inc({ provider: 'ECS', reason: s.reason });
  };

  /** LAST SEEN: a successful cluster-wide poll or an observed change. */
  touch(clusterArn: string): void {
    this.activity.touch(clusterId('ECS', clusterArn));
  }
}
