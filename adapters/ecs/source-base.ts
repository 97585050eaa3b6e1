/**
 * What every ECS WatchSource shares beyond the kit's ClusterObjectSource (keys, orders, hashes,
 * get through getMany): the cluster snapshot and feed cursor taken on the first page of a listing
 * (the cursor before any list call, so nothing that happens during the listing is missed); hints
 * from the region's audit feed; and per-cluster paging (one API page of one cluster per list page,
 * the position kept in the page token; an unreadable token restarts from the first cluster).
 * Listing another kind of ECS resource is a subclass with `getMany` and a page function.
 */
import { concatMap, from } from 'rxjs';
import type { Observable, ObservableInput } from 'rxjs';
import { clusterId } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import { TokenRestarts, decodeOrRestart } from '../../src/provider/page-token.js';
import { ClusterObjectSource } from '../../src/provider/source-base.js';
import type { Hint, ListPage, WatchStore } from '../../src/watch/source.js';
import { emptyWatchStore } from '../../src/watch/source.js';
import type { EcsRef } from './event-mapping.js';
import type { EcsFeed } from './event-source.js';
import { FIRST_CLUSTER_PAGE, clusterPageTokens } from './paging.js';
import type { ClusterPageToken } from './paging.js';
import type { RegionContext } from './region.js';

/** The store index of a source's objects by cluster id (workloads and nodes). */
export const CLUSTER_INDEX = 'cluster';

export function clusterIdOf(o: ClusterObject): readonly string[] {
  if (o.kind === 'workload') return [o.workload.clusterId];
  if (o.kind === 'node') return [o.node.clusterId];
  return [];
}

/** Sources listing within this long of each other share one ListClusters. */
export const DIRECTORY_SHARE_MS = 30_000;

export function listPage(
  items: ClusterObject[],
  next: string | undefined,
  cursor: string | undefined,
): ListPage<ClusterObject> {
  return {
    items,
    ...(next !== undefined ? { nextPageToken: next } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
}

export abstract class EcsSourceBase extends ClusterObjectSource {
  readonly id: string;
  /** Cluster ARNs as of the first page of the current listing. */
  protected snapshot: string[] = [];
  private readonly tokenRestarts: TokenRestarts;

  constructor(
    protected readonly rc: RegionContext,
    protected readonly feed: EcsFeed,
    kind: string,
  ) {
    super();
    this.id = `${rc.idPrefix}/${kind}`;
    this.tokenRestarts = new TokenRestarts(rc.deps.logger, this.id);
  }

  /** What the engine holds of this source (attachStore); empty until attached. */
  protected store: WatchStore<ClusterObject> = emptyWatchStore<ClusterObject>();

  attachStore(store: WatchStore<ClusterObject>): void {
    this.store = store;
  }

  /** `deleted` hints for every object the store files under the cluster (the engine confirms each). */
  protected clusterGone(clusterArn: string): Hint<ClusterObject>[] {
    const id = clusterId('ECS', clusterArn);
    return [...this.store.byIndex(CLUSTER_INDEX, id)].map((key): Hint<ClusterObject> => ({
      type: 'deleted',
      key,
    }));
  }

  /** The position a page token holds; the first cluster for no token or an unreadable one. */
  protected pagePosition(pageToken: string | undefined): ClusterPageToken {
    return decodeOrRestart(clusterPageTokens, pageToken, FIRST_CLUSTER_PAGE, this.tokenRestarts);
  }

  /** On a listing's first page (no token): the feed cursor, then a fresh cluster snapshot. */
  protected async startListing(pageToken: string | undefined): Promise<string | undefined> {
    if (pageToken !== undefined) return undefined;
    const cursor = this.feed.cursorNow();
    this.snapshot = await this.rc.directory.list(DIRECTORY_SHARE_MS);
    return cursor;
  }

  /** One API page of one cluster per list page; `fetch` lists and normalizes that page. */
  protected async listPerCluster(
    pageToken: string | undefined,
    fetch: (
      clusterArn: string,
      apiToken: string | undefined,
    ) => Promise<{ items: ClusterObject[]; nextToken?: string }>,
  ): Promise<ListPage<ClusterObject>> {
    const cursor = await this.startListing(pageToken);
    const tok = this.pagePosition(pageToken);
    const clusterArn = this.snapshot[tok.c];
    if (clusterArn === undefined) return listPage([], undefined, cursor);
    const page = await fetch(clusterArn, tok.t);
    let next: string | undefined;
    if (page.nextToken) next = clusterPageTokens.encode({ c: tok.c, t: page.nextToken });
    else if (tok.c + 1 < this.snapshot.length) next = clusterPageTokens.encode({ c: tok.c + 1 });
    return listPage(page.items, next, cursor);
  }

  /**
   * Hints from the region's feed (CloudTrail, or the pushed feed), in feed order: bookmarks and
   * gaps pass through unchanged, and each reference becomes the hints `fromRef` returns for it (none
   * when it is not ours; a promise when building them needs a cached read, order is kept).
   */
  protected feedHints(
    fromCursor: string | undefined,
    fromRef: (ref: EcsRef) => Hint<ClusterObject>[] | Promise<Hint<ClusterObject>[]>,
  ): Observable<Hint<ClusterObject>> {
    return this.feed.items(fromCursor, this.id).pipe(
      concatMap((item): ObservableInput<Hint<ClusterObject>> => {
        if (item.type !== 'refs') return [item];
        const parts = item.refs.map(fromRef);
        // Synchronous unless a reference needs a read (CloudTrail references never do).
        if (parts.every((p): p is Hint<ClusterObject>[] => Array.isArray(p))) return parts.flat();
        return from(Promise.all(parts)).pipe(concatMap((p) => p.flat()));
      }),
    );
  }

  /** The daemon wrote everything up to `cursor`: a pushed feed deletes what it covers. */
  durable(cursor: string): void {
    this.feed.durable?.(cursor, this.id);
  }
}
