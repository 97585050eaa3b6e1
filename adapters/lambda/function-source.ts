/**
 * WatchSource `lambda/<account>/<region>/functions`: the region's cluster and namespace, each
 * container-image function as a Deployment and each of its published versions as a ReplicaSet
 * owned by it (normalizer.ts). Zip functions are skipped, each one a list passes over counted in
 * `sightline_functions_skipped_total{source, reason="zip"}` (at every list, so a relist counts
 * them again).
 *
 * List: one ListFunctions page (50 functions) per list page, then each image function whole
 * (lister.ts `readFunction`: GetFunction, ListVersionsByFunction, ListAliases, each version's
 * image once ever). The feed cursor is taken before the first page. get/getMany: the functions the
 * keys name, read whole; a family expansion (the function, then its versions) costs one read: the
 * functions of the last read round answer the next getMany when it asks only for versions of
 * functions whose children `childKeysOf` just named.
 *
 * Hints: every change the region's feed reports (CloudTrail calls, pushed state change events) is
 * a `family` hint of the function (index FUNCTION_INDEX): the engine reads the function and its
 * versions, and tombstones what is gone. No provider call is made inside the hint stream.
 *
 * Cheap poll: ListFunctions only (one call per 50 functions), each function's token its
 * LastModified, CodeSha256 and State, so an UpdateFunctionCode is found without GetFunction (a
 * function whose LastModified differs from the store's order is left out, so it is read even on
 * the first poll, which has no previous token to compare with); the
 * versions the store holds of a listed function ride along untokened (publishing or alias moves
 * come from the feed or the relist). In pushed mode it runs every `reconcileIntervalMs`, or every
 * poll interval while the queue is in fallback, and reports what it found to the queue.
 *
 * Failure: provider errors reject the call (the engine retries); an unreadable page token restarts
 * the listing from the first page (reported once).
 */
import { concatMap } from 'rxjs';
import type { Observable, ObservableInput } from 'rxjs';
import { objectKey } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import { PageTokenCodec, TokenRestarts, decodeOrRestart } from '../../src/provider/page-token.js';
import { ClusterObjectSource } from '../../src/provider/source-base.js';
import { emptyWatchStore } from '../../src/watch/source.js';
import type {
  CheapPoll,
  Hint,
  Indexers,
  ListPage,
  PollToken,
  WatchSource,
  WatchStore,
} from '../../src/watch/source.js';
import type { PushedReconciliation } from '../aws/adapter-wiring.js';
import type { RegionFeed } from '../aws/joined-feed.js';
import type { LambdaRef } from './audit-mapping.js';
import { clusterKey, functionArn, namespaceKey, parseWorkloadKey, workloadKey } from './keys.js';
import { listFunctionsPage, readFunction } from './lister.js';
import type { FunctionRead } from './lister.js';
import { clusterObjects, lastModifiedMs } from './normalizer.js';
import type { RegionContext } from './region.js';
import { checkPageCount } from '../aws/paging.js';
import { counter } from '../../src/runtime/metrics.js';
import type { Counter } from 'prom-client';

/** The store index of versions by the key of their function (a family hint's parent). */
export const FUNCTION_INDEX = 'function';
/** Functions a list passed over, by source and reason (`zip`: only container images are watched). */
export const FUNCTIONS_SKIPPED_METRIC = 'sightline_functions_skipped_total';
/** Image functions read at once within one list page. */
const READS_IN_FLIGHT = 4;

interface PagePosition {
  /** ListFunctions Marker of the page to read. */
  m?: string;
}

const pageTokens = new PageTokenCodec<PagePosition>('lambda-functions-page', (v) => {
  if (v === null || typeof v !== 'object') return undefined;
  const m = (v as { m?: unknown }).m;
  return typeof m === 'string' ? { m } : undefined;
});

interface ReadRound {
  byFunction: Map<string, FunctionRead | undefined>;
  expanded: Set<string>;
}

export class FunctionSource extends ClusterObjectSource implements WatchSource<ClusterObject> {
  readonly id: string;
  readonly indexers: Indexers<ClusterObject>;
  readonly cheapPoll: CheapPoll;
  private store: WatchStore<ClusterObject> = emptyWatchStore<ClusterObject>();
  private readonly restarts: TokenRestarts;
  private lastRound: ReadRound | undefined;
  private zipInListing = 0;
  private readonly skipped: Counter<'source' | 'reason'>;
  private prevTokens: Map<string, string> | undefined;

  constructor(
    private readonly rc: RegionContext,
    private readonly feed: RegionFeed<LambdaRef>,
    pollIntervalMs: number,
    /** Pushed mode: the poll is a slow reconciliation unless the queue fell back. */
    private readonly pushed?: PushedReconciliation,
  ) {
    super();
    this.id = `${rc.idPrefix}/functions`;
    this.restarts = new TokenRestarts(rc.deps.logger, this.id);
    this.skipped = counter(
      rc.deps.metrics.registry,
      FUNCTIONS_SKIPPED_METRIC,
      'Functions a list passed over, by reason (zip: only container-image functions are watched)',
      ['source', 'reason'],
    );
    const cid = rc.clusterId;
    this.indexers = {
      [FUNCTION_INDEX]: (o) =>
        o.kind === 'workload' && o.workload.kind === 'ReplicaSet'
          ? o.workload.owners.map((w) => workloadKey(cid, w.uid))
          : [],
    };
    this.cheapPoll = {
      get intervalMs(): number {
        return pushed === undefined || pushed.fallback() ? pollIntervalMs : pushed.reconcileIntervalMs;
      },
      poll: () => this.poll(),
    };
  }

  attachStore(store: WatchStore<ClusterObject>): void {
    this.store = store;
  }

  async list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    this.lastRound = undefined;
    const pos = decodeOrRestart(pageTokens, pageToken, {}, this.restarts);
    const items: ClusterObject[] = [];
    let cursor: string | undefined;
    if (pageToken === undefined) {
      cursor = this.feed.cursorNow();
      items.push(...clusterObjects(this.rc.ctx));
      this.zipInListing = 0;
    }
    const page = await listFunctionsPage(this.rc, pos.m);
    const names: string[] = [];
    let zip = 0;
    for (const f of page.functions) {
      if (f.PackageType !== 'Image') zip++;
      else if (f.FunctionName !== undefined) names.push(f.FunctionName);
    }
    this.zipInListing += zip;
    if (zip > 0) this.skipped.inc({ source: this.id, reason: 'zip' }, zip);
    for (let i = 0; i < names.length; i += READS_IN_FLIGHT) {
      const reads = await Promise.all(
        names.slice(i, i + READS_IN_FLIGHT).map((n) => readFunction(this.rc, n)),
      );
      for (const r of reads) if (r) items.push(r.fn, ...r.versions);
    }
    if (page.nextMarker === undefined) {
      this.rc.zipFunctions = this.zipInListing;
      if (this.zipInListing > 0)
        this.rc.deps.logger.debug(
          { source: this.id, zipFunctions: this.zipInListing },
          'zip functions skipped (only container images are watched)',
        );
      this.rc.touch();
    }
    return {
      items,
      ...(page.nextMarker !== undefined ? { nextPageToken: pageTokens.encode({ m: page.nextMarker }) } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    };
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const round = this.lastRound;
    this.lastRound = undefined;
    const cid = this.rc.clusterId;
    const found = new Map<string, ClusterObject>();
    const names = new Set<string>();
    let onlyVersions = true;
    for (const key of keys) {
      if (key === clusterKey(cid) || key === namespaceKey(cid)) {
        for (const o of clusterObjects(this.rc.ctx)) found.set(objectKey(o), o);
        onlyVersions = false;
        continue;
      }
      const p = parseWorkloadKey(key, cid);
      if (!p) continue;
      names.add(p.name);
      if (p.version === undefined) onlyVersions = false;
    }
    let reads: Map<string, FunctionRead | undefined>;
    if (
      round !== undefined &&
      onlyVersions &&
      names.size > 0 &&
      [...names].every((n) => round.expanded.has(n))
    ) {
      reads = round.byFunction;
    } else {
      reads = new Map();
      for (const name of names) reads.set(name, await readFunction(this.rc, name));
      this.lastRound = { byFunction: reads, expanded: new Set() };
      if ([...reads.values()].some((r) => r !== undefined)) this.rc.touch();
    }
    for (const r of reads.values()) {
      if (!r) continue;
      found.set(objectKey(r.fn), r.fn);
      for (const v of r.versions) found.set(objectKey(v), v);
    }
    return new Map(keys.map((k) => [k, found.get(k)]));
  }

  /** The version keys of a function as its last read showed them. */
  childKeysOf(parent: ClusterObject): string[] {
    if (parent.kind !== 'workload' || parent.workload.kind !== 'Deployment') return [];
    const round = this.lastRound;
    const read = round?.byFunction.get(parent.workload.name);
    if (round === undefined || read === undefined) return [];
    round.expanded.add(parent.workload.name);
    return read.versions.map((v) => objectKey(v));
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    const cid = this.rc.clusterId;
    return this.feed.items(fromCursor, this.id).pipe(
      concatMap((item): ObservableInput<Hint<ClusterObject>> => {
        if (item.type !== 'refs') return [item];
        const keys = new Set(
          item.refs.map((r) =>
            workloadKey(cid, functionArn(this.rc.region, this.rc.account, r.functionName)),
          ),
        );
        return [...keys].map((key): Hint<ClusterObject> => ({ type: 'family', key, index: FUNCTION_INDEX }));
      }),
    );
  }

  durable(cursor: string): void {
    this.feed.durable?.(cursor, this.id);
  }

  private async poll(): Promise<Map<string, PollToken>> {
    const cid = this.rc.clusterId;
    const tokens = new Map<string, PollToken>([
      [clusterKey(cid), ''],
      [namespaceKey(cid), ''],
    ]);
    let marker: string | undefined;
    let pages = 0;
    do {
      checkPageCount('ListFunctions', ++pages);
      const page = await listFunctionsPage(this.rc, marker);
      for (const f of page.functions) {
        if (f.PackageType !== 'Image' || f.FunctionArn === undefined) continue;
        const key = workloadKey(cid, f.FunctionArn);
        // The engine compares a token with the previous poll's only: a function changed since the
        // store's state was read (e.g. between the list and the first poll) is left out of the
        // map instead, which makes the engine read it now.
        const heldMs = this.store.get(key)?.order;
        const listedMs = lastModifiedMs(f.LastModified);
        if (heldMs === undefined || listedMs === undefined || heldMs === listedMs)
          tokens.set(key, `${f.LastModified ?? ''}|${f.CodeSha256 ?? ''}|${f.State ?? ''}`);
        for (const v of this.store.byIndex(FUNCTION_INDEX, key)) tokens.set(v, '');
      }
      marker = page.nextMarker;
    } while (marker !== undefined);
    this.rc.touch();
    if (this.pushed !== undefined) {
      const prev = this.prevTokens;
      let changes = 0;
      const next = new Map<string, string>();
      for (const [k, t] of tokens) {
        if (typeof t !== 'string' || t === '') continue;
        next.set(k, t);
        if (prev !== undefined && prev.get(k) !== t) changes++;
      }
      if (prev !== undefined) for (const k of prev.keys()) if (!next.has(k)) changes++;
      this.prevTokens = next;
      this.pushed.reconciled(changes);
    }
    return tokens;
  }
}
