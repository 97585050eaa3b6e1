/**
 * What every ECS WatchSource shares: keys, monotonic orders and content hashes of model objects;
 * the cluster snapshot and feed cursor taken on the first page of a listing (the cursor before any
 * list call, so nothing that happens during the listing is missed); get() through getMany();
 * hints from the region's audit feed; and per-cluster paging (one API page of one cluster per list page, the position kept in the page
 * token). Listing a third kind of ECS resource is a subclass with `getMany` and a page function.
 */
import { mergeMap } from 'rxjs';
import type { Observable } from 'rxjs';
import { objectHash, objectKey, objectOrder } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, ListPage } from '../../src/watch/source.js';
import type { AuditRef } from './audit-mapping.js';
import type { AuditFeed } from './audit-source.js';
import { decodePageToken, encodePageToken } from './paging.js';
import type { RegionContext } from './region.js';

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

export abstract class EcsSourceBase {
  readonly id: string;
  /** Cluster ARNs as of the first page of the current listing. */
  protected snapshot: string[] = [];

  constructor(
    protected readonly rc: RegionContext,
    protected readonly feed: AuditFeed,
    kind: string,
  ) {
    this.id = `${rc.idPrefix}/${kind}`;
  }

  keyOf(o: ClusterObject): string {
    return objectKey(o);
  }
  orderOf(o: ClusterObject): number | undefined {
    return objectOrder(o);
  }
  hashOf(o: ClusterObject): string {
    return objectHash(o);
  }

  abstract getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>>;

  async get(key: string): Promise<ClusterObject | undefined> {
    return (await this.getMany([key])).get(key);
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
    const tok = decodePageToken(pageToken);
    const clusterArn = this.snapshot[tok.c];
    if (clusterArn === undefined) return listPage([], undefined, cursor);
    const page = await fetch(clusterArn, tok.t);
    let next: string | undefined;
    if (page.nextToken) next = encodePageToken({ c: tok.c, t: page.nextToken });
    else if (tok.c + 1 < this.snapshot.length) next = encodePageToken({ c: tok.c + 1 });
    return listPage(page.items, next, cursor);
  }

  /**
   * Hints from the region's audit feed, in feed order: bookmarks and gaps pass through unchanged,
   * and each audit reference becomes the hints `fromRef` returns for it (none when it is not ours).
   */
  protected feedHints(
    fromCursor: string | undefined,
    fromRef: (ref: AuditRef) => Hint<ClusterObject>[],
  ): Observable<Hint<ClusterObject>> {
    return this.feed
      .items(fromCursor)
      .pipe(mergeMap((item) => (item.type === 'refs' ? item.refs.flatMap(fromRef) : [item])));
  }
}
