/**
 * The WatchSource of one kind of one GCP project (all its configured regions; one model Cluster per
 * region), `cloudrun/<project>/<kind>` (see `RUN_KINDS`): clusters and namespaces, services and
 * their serving revisions, jobs and their current executions, or worker pools. Per-object facts come
 * from the engine's store (`attachStore`, indexed by owner); the source keeps no copy of the
 * project's objects. The project's kinds share one audit feed (one tail), one scope and one
 * digest resolver, and fail on their own: a kind whose list is denied leaves the others watched.
 *
 * - `list` pages through, per region, the kind's steps: cluster+namespace (no API call),
 *   ListServices (after a v1 revision-list digest prefetch), ListRevisions (service `-`, only
 *   revisions serving traffic or latest created, as the services listed just before say),
 *   ListJobs, ListExecutions (job `-`, running or recent), ListWorkerPools. The first page carries
 *   the audit cursor taken `LIST_CURSOR_MARGIN_MS` before listing. The `clusters` kind reads the
 *   project's regions again (ListLocations for `regions: all`) when its list starts. A completed
 *   list records, per region, the provider time its reads there came after (ListCoverage): the
 *   entries that cursor re-delivers from before it cost no read.
 * - `get` re-reads one object (NOT_FOUND, out of scope, or a key it cannot read back -> undefined);
 *   `getMany` runs `GET_MANY_CONCURRENCY` gets at a time, and reads by list the services or
 *   revisions of a region it needs more of than their last list took pages (a burst of deploys). Each `get`/`getMany` is a read round that
 *   reads a service once, and the family expansion after it reuses that read (ServiceRound).
 * - `durable` passes the console's acknowledgement of a bookmark to the feed (the Pub/Sub feed acks
 *   its messages then; the tail needs none).
 * - `hints` maps the project feed's entries (the tail, or Pub/Sub with the tail as fallback) on the kind's targets (see AuditHints; an entry the
 *   last list covered gives none, counted in `sightline_hints_skipped_total`), plus, for
 *   services, digests resolved later; a service or job comes as a `family` hint whose children
 *   `childKeysOf` names (the reads happen in the engine's worker, none in the hint stream).
 * - `cheapPoll` fingerprints the kind with list calls only (see stepFingerprint), every
 *   `livePollIntervalMs` while the project's tail is live (the tail is the detector, the poll a
 *   safety net) and every `pollIntervalMs` while it is not (`intervalChanges$`: a tail that drops
 *   brings the next poll within `pollIntervalMs`). The clusters kind (no call) polls every
 *   `pollIntervalMs` and moves LAST SEEN while the tail is live; the other kinds move it after each
 *   poll, so LAST SEEN keeps moving at the short period in either state.
 *
 * Failure: every method rejects with the failing API call's error (throttling as ThrottledError,
 * a missing permission as PermissionDeniedError); an unreadable page token restarts the list from
 * its first step (the kit's page-token rule).
 */
import { from, merge, concatMap, filter, mergeMap, EMPTY } from 'rxjs';
import type { Observable } from 'rxjs';
import type {
  CheapPoll,
  Hint,
  ListPage,
  NamedKey,
  PollToken,
  WatchSource,
  WatchStore,
} from '../../src/watch/source.js';
import type { ClusterObject } from '../../src/model/index.js';
import { objectHash, objectKey, objectOrder } from '../../src/model/index.js';
import type { ProjectFeed } from './project-feed.js';
import { AuditHints } from './audit-hints.js';
import { stepFingerprint } from './fingerprint.js';
import { KeyNames, projectIndexers } from './key-names.js';
import type { ListPosition, ListStep } from './list-token.js';
import { LIST_START, listTokens, nextPosition } from './list-token.js';
import { TokenRestarts, decodeOrRestart } from '../../src/provider/page-token.js';
import { parseResourceName, resourceName } from './names.js';
import { isCurrentExecution, newestProviderTimeMs, servingRevisions } from './normalizer.js';
import type { ProviderTimes } from './normalizer.js';
import { ListCoverage } from '../../src/provider/list-coverage.js';
import { RunObjectBuilder } from './object-builder.js';
import type { ProjectScope } from './project-scope.js';
import type { RunKind } from './run-kinds.js';
import { ServiceRound } from './service-round.js';
import type { protos } from '@google-cloud/run';

type IService = protos.google.cloud.run.v2.IService;
type IRevision = protos.google.cloud.run.v2.IRevision;

/** The first list page's cursor is taken this long before the list starts (audit timestamps lag). */
const LIST_CURSOR_MARGIN_MS = 10_000;
const GET_MANY_CONCURRENCY = 8;
/**
 * A read round that reads at least this many services (or revisions) of one region, and more than
 * the last list of them took pages, reads them with the list instead of one Get each (a burst of
 * deploys costs a page, not a call per deploy).
 */
const LIST_READ_MIN_KEYS = 3;
/**
 * A deploy writes its operation's end entry and the revision's Ready system event within moments
 * of each other (Logging delivers them in one tail batch or two): reading once for both halves the
 * reads of a deploy, at this cost in latency.
 */
const HINT_SETTLE_MS = 300;
/**
 * An entry stamped more than this before the newest provider time the last list showed in its
 * region when it first read there is covered by that list: no read (see ListCoverage). Large against
 * the 143 ms by which a v1 entry's stamp preceded its object's creation in the CreateService sample;
 * a change this would wrongly skip is still caught by the next cheap poll.
 */
const LIST_COVER_MARGIN_MS = 2_000;
export const CONTROLLER_NAME = 'sightline-cloudrun';

/** The newest provider time on a page, over every object it returned (kept or not). */
function newest(items: ProviderTimes[]): { newestMs?: number } {
  let newestMs: number | undefined;
  for (const o of items) {
    const ms = newestProviderTimeMs(o);
    if (ms !== undefined && (newestMs === undefined || ms > newestMs)) newestMs = ms;
  }
  return newestMs === undefined ? {} : { newestMs };
}

/** How often a kind's cheap poll runs, by the state of the project's tail. */
export interface RunPollIntervals {
  /** While the tail is down or refused (the poll is the detector). */
  pollIntervalMs: number;
  /** While the tail is live (the poll is a safety net). */
  livePollIntervalMs: number;
}

/**
 * What one list carries from a region's services step to its revisions step: the full names of the
 * revisions its services serve, and the regions whose digests were prefetched. Reset when a list
 * starts.
 */
interface ListRun {
  prefetched: Set<string>;
  servingRegion: string;
  serving: Set<string>;
}

export class CloudRunKindSource implements WatchSource<ClusterObject> {
  readonly id: string;
  readonly cheapPoll: CheapPoll;
  readonly indexers = projectIndexers;
  readonly hintSettleMs = HINT_SETTLE_MS;
  private readonly names: KeyNames;
  private readonly build: RunObjectBuilder;
  private readonly auditHints: AuditHints;
  private run: ListRun = { prefetched: new Set(), servingRegion: '', serving: new Set() };
  private readonly restarts: TokenRestarts;
  private serviceRound: ServiceRound;
  /** Pages the last list read, by `step/region` (what a list read costs now). */
  private readonly listPages = new Map<string, number>();
  /** Which feed entries the last completed list already showed, by region. */
  private readonly coverage = new ListCoverage(LIST_COVER_MARGIN_MS);

  constructor(
    private readonly scope: ProjectScope,
    private readonly kind: RunKind,
    private readonly feed: ProjectFeed,
    intervals: RunPollIntervals,
  ) {
    this.id = `cloudrun/${scope.project}/${kind.name}`;
    this.names = new KeyNames(scope);
    this.build = new RunObjectBuilder(scope);
    this.restarts = new TokenRestarts(scope.deps.logger, this.id);
    this.auditHints = new AuditHints(scope, this.names, kind.targets, {
      covers: (region, entryMs) => this.coverage.covers(region, entryMs),
      skipped: () => scope.deps.metrics.hintsSkipped.inc({ source: this.id, reason: 'covered_by_list' }),
    });
    this.serviceRound = this.firstServiceRound();
    // The clusters kind polls without an API call: it keeps the short period and, while the tail
    // is live, moves LAST SEEN (a live tail is proof the project is watched).
    const callsApi = kind.steps.some((step) => step !== 'cluster');
    const poll = (): Promise<Map<string, PollToken>> => this.fingerprint();
    this.cheapPoll = callsApi
      ? {
          get intervalMs() {
            return feed.live ? intervals.livePollIntervalMs : intervals.pollIntervalMs;
          },
          // A tail that drops makes the poll the detector again now, not after the long wait.
          intervalChanges$: feed.liveChanges$,
          poll,
        }
      : { intervalMs: intervals.pollIntervalMs, poll };
  }

  private firstServiceRound(): ServiceRound {
    return new ServiceRound((name) => this.scope.lister.getService(name));
  }

  attachStore(store: WatchStore<ClusterObject>): void {
    this.names.attach(store);
  }

  keyOf(obj: ClusterObject): string {
    return objectKey(obj);
  }

  orderOf(obj: ClusterObject): number | undefined {
    return objectOrder(obj);
  }

  hashOf(obj: ClusterObject): string {
    return objectHash(obj);
  }

  async list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    const pos: ListPosition = decodeOrRestart(listTokens, pageToken, LIST_START, this.restarts);
    let cursor: string | undefined;
    const steps = this.kind.steps;
    // LIST_START itself (never a decoded token): a list starts, or restarts after an unreadable token.
    if (pos === LIST_START) {
      if (pageToken === undefined)
        cursor = this.feed.cursorAt(this.scope.deps.scheduler.now() - LIST_CURSOR_MARGIN_MS);
      this.run = { prefetched: new Set(), servingRegion: '', serving: new Set() };
      this.serviceRound = this.firstServiceRound();
      this.coverage.started();
      if (steps.includes('cluster')) await this.scope.refreshRegions();
    }
    const regions = await this.scope.regions();
    const region = regions[pos.r];
    const step: ListStep | undefined = steps[pos.s];
    if (region === undefined || step === undefined) return { items: [] };
    const { items, next, newestMs } = await this.listStep(step, region, pos.t);
    this.coverage.page(region, newestMs);
    const pagesKey = `${step}/${region}`;
    this.listPages.set(pagesKey, pos.t === '' ? 1 : (this.listPages.get(pagesKey) ?? 0) + 1);
    const nextPos = nextPosition(pos, next, steps.length, regions.length);
    if (next === '' && pos.s === steps.length - 1) this.scope.activity(region);
    const page: ListPage<ClusterObject> = { items };
    if (nextPos) page.nextPageToken = listTokens.encode(nextPos);
    else this.coverage.completed();
    if (cursor !== undefined) page.cursor = cursor;
    return page;
  }

  private async listStep(
    step: ListStep,
    region: string,
    token: string,
  ): Promise<{ items: ClusterObject[]; next: string; newestMs?: number }> {
    const { lister: l, project } = this.scope;
    switch (step) {
      case 'cluster':
        return { items: [this.build.cluster(region), this.build.namespace(region)], next: '' };
      case 'services': {
        if (!this.run.prefetched.has(region)) {
          this.run.prefetched.add(region);
          await this.scope.digests.prefetchRegion(project, region);
        }
        if (this.run.servingRegion !== region)
          this.run = { ...this.run, servingRegion: region, serving: new Set() };
        const p = await l.services(project, region, token);
        const items: ClusterObject[] = [];
        for (const s of p.items) {
          for (const rev of servingRevisions(s)) this.run.serving.add(`${s.name ?? ''}/revisions/${rev}`);
          items.push(await this.build.service(region, s));
        }
        return { items, next: p.next, ...newest(p.items) };
      }
      case 'revisions': {
        const p = await l.revisions(project, region, token);
        const items: ClusterObject[] = [];
        for (const r of p.items)
          if (this.run.servingRegion === region && this.run.serving.has(r.name ?? ''))
            items.push(await this.build.revision(region, r));
        return { items, next: p.next, ...newest(p.items) };
      }
      case 'jobs': {
        const p = await l.jobs(project, region, token);
        return { items: p.items.map((j) => this.build.job(region, j)), next: p.next, ...newest(p.items) };
      }
      case 'executions': {
        const p = await l.executions(project, region, token);
        const now = this.scope.deps.scheduler.now();
        return {
          items: p.items
            .filter((e) => isCurrentExecution(e, now))
            .map((e) => this.build.execution(region, e)),
          next: p.next,
          ...newest(p.items),
        };
      }
      case 'workerPools': {
        const p = await l.workerPools(project, region, token);
        return {
          items: p.items.map((w) => this.build.workerPool(region, w)),
          next: p.next,
          ...newest(p.items),
        };
      }
    }
  }

  /**
   * The kind's tokens in every region (see stepFingerprint); marks activity per region done when the
   * poll read the API, or, for the clusters kind (no call), while the project's tail is live.
   */
  private async fingerprint(): Promise<Map<string, PollToken>> {
    const out = new Map<string, PollToken>();
    const callsApi = this.kind.steps.some((step) => step !== 'cluster');
    for (const region of await this.scope.regions()) {
      for (const step of this.kind.steps)
        await stepFingerprint(step, region, this.scope, this.names, this.build, out);
      if (callsApi || this.feed.live) this.scope.activity(region);
    }
    return out;
  }

  async get(key: string, ref?: string): Promise<ClusterObject | undefined> {
    return (await this.getMany([key], ref === undefined ? undefined : new Map([[key, ref]]))).get(key);
  }

  /** Reads one key within a read round (services come from `round`, see ServiceRound). */
  private async read(
    key: string,
    name: string | undefined,
    round: ServiceRound,
    listedRevisions: ReadonlyMap<string, Map<string, IRevision>>,
  ): Promise<ClusterObject | undefined> {
    const ref = await this.names.resolve(key, name);
    if (!ref || !(await this.scope.inScope(ref.region))) return undefined;
    const l = this.scope.lister;
    const region = ref.region;
    switch (ref.kind) {
      case 'cluster':
        return this.build.cluster(region);
      case 'namespace':
        return this.build.namespace(region);
      case 'service': {
        const s = await round.current(resourceName(ref));
        return s ? this.build.service(region, s) : undefined;
      }
      case 'revision': {
        const s = await round.service(resourceName({ ...ref, kind: 'service', name: ref.service }));
        if (!s || !servingRevisions(s).has(ref.name)) return undefined;
        const listed = listedRevisions.get(region);
        const r = listed ? listed.get(resourceName(ref)) : await l.getRevision(resourceName(ref));
        return r ? this.build.revision(region, r) : undefined;
      }
      case 'job': {
        const j = await l.getJob(resourceName(ref));
        return j ? this.build.job(region, j) : undefined;
      }
      case 'execution': {
        const e = await l.getExecution(resourceName(ref));
        return e && isCurrentExecution(e, this.scope.deps.scheduler.now())
          ? this.build.execution(region, e)
          : undefined;
      }
      case 'workerPool': {
        const w = await l.getWorkerPool(resourceName(ref));
        return w ? this.build.workerPool(region, w) : undefined;
      }
    }
  }

  /**
   * A service's serving revisions (GetService) or a job's current executions (ListExecutions of the
   * job), as keys; nothing for other objects. Read by the engine's worker for a `family` hint.
   */
  async childKeysOf(parent: ClusterObject): Promise<NamedKey[]> {
    const ref = await this.names.refOf(parent);
    const l = this.scope.lister;
    if (ref?.kind === 'service') {
      const s = await this.serviceRound.childrenOf(resourceName(ref));
      return [...(s ? servingRevisions(s) : [])].map((name) =>
        this.names.named({ ...ref, kind: 'revision', service: ref.name, name }),
      );
    }
    if (ref?.kind === 'job') {
      const execs = await l.all((tok) => l.executions(ref.project, ref.region, tok, ref.name));
      const now = this.scope.deps.scheduler.now();
      return execs.flatMap((e) => {
        const child = parseResourceName(e.name ?? '');
        return child?.kind === 'execution' && isCurrentExecution(e, now) ? [this.names.named(child)] : [];
      });
    }
    return [];
  }

  /** Whether reading `count` objects of `step` in `region` costs less by list than by Get. */
  private listIsCheaper(step: ListStep, region: string, count: number): boolean {
    return count >= LIST_READ_MIN_KEYS && count > (this.listPages.get(`${step}/${region}`) ?? Infinity);
  }

  /**
   * Reads by list what this round reads many of in one region: the services (prefilled into the
   * round; a service the list lacks is gone) and the revisions (returned by region: a revision the
   * list lacks is gone).
   */
  private async listReads(
    round: ServiceRound,
    services: ReadonlyMap<string, string[]>,
    revisions: ReadonlyMap<string, number>,
  ): Promise<Map<string, Map<string, IRevision>>> {
    const { lister: l, project } = this.scope;
    for (const [region, names] of services) {
      if (!this.listIsCheaper('services', region, names.length)) continue;
      const listed = new Map<string, IService>();
      for (const s of await l.all((t) => l.services(project, region, t))) listed.set(s.name ?? '', s);
      for (const name of names) round.prefill(name, listed.get(name));
    }
    const out = new Map<string, Map<string, IRevision>>();
    for (const [region, count] of revisions) {
      if (!this.listIsCheaper('revisions', region, count)) continue;
      const listed = new Map<string, IRevision>();
      for (const r of await l.all((t) => l.revisions(project, region, t))) listed.set(r.name ?? '', r);
      out.set(region, listed);
    }
    return out;
  }

  /**
   * One read round: `GET_MANY_CONCURRENCY` reads at a time, each service read once (ServiceRound).
   * The services the round reads are read first, so a revision of one of them in the same round is
   * checked against that fresh read, never against an older one.
   */
  async getMany(
    keys: string[],
    refs?: ReadonlyMap<string, string>,
  ): Promise<Map<string, ClusterObject | undefined>> {
    const round = (this.serviceRound = this.serviceRound.next());
    const services = new Map<string, string[]>();
    const revisions = new Map<string, number>();
    for (const key of keys) {
      const ref = await this.names.resolve(key, refs?.get(key));
      if (ref?.kind === 'service') {
        const names = services.get(ref.region) ?? [];
        names.push(resourceName(ref));
        services.set(ref.region, names);
      } else if (ref?.kind === 'revision') revisions.set(ref.region, (revisions.get(ref.region) ?? 0) + 1);
    }
    const listedRevisions = await this.listReads(round, services, revisions);
    for (const names of services.values())
      for (const name of names) void round.current(name).catch(() => undefined);
    const out = new Map<string, ClusterObject | undefined>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next] as string;
        next += 1;
        out.set(key, await this.read(key, refs?.get(key), round, listedRevisions));
      }
    };
    await Promise.all(Array.from({ length: Math.min(GET_MANY_CONCURRENCY, keys.length) }, () => worker()));
    return out;
  }

  /** The console holds what this source's hints gave up to `cursor` (a pushed feed acks then). */
  durable(cursor: string): void {
    this.feed.durable?.(this.id, cursor);
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    const audit$ = this.feed
      .items(fromCursor, (m) => this.auditHints.wants(m), this.id)
      .pipe(concatMap((item) => from(this.auditHints.forItem(item)).pipe(mergeMap((hs) => from(hs)))));
    const digest$ = this.kind.targets.has('revision')
      ? this.scope.digests.resolved$.pipe(
          filter((full) => parseResourceName(full)?.project === this.scope.project),
          mergeMap((full) => from(this.auditHints.forResolvedDigest(full)).pipe(mergeMap((hs) => from(hs)))),
        )
      : EMPTY;
    return merge(audit$, digest$);
  }
}
