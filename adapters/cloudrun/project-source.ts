/**
 * The WatchSource of one GCP project (all its configured regions; one model Cluster per region):
 * clusters and namespaces, services and their serving revisions, jobs and their current executions,
 * worker pools. Per-object facts come from the engine's store (`attachStore`, indexed by owner);
 * the source keeps no copy of the project's objects.
 *
 * - `list` pages through, per region, the steps of `LIST_STEPS`: cluster+namespace (no API call),
 *   ListServices (after a v1 revision-list digest prefetch), ListRevisions (service `-`, only
 *   revisions serving traffic or latest created, as the services listed just before say),
 *   ListJobs, ListExecutions (job `-`, running or recent), ListWorkerPools. The first page carries
 *   the audit cursor taken `LIST_CURSOR_MARGIN_MS` before listing.
 * - `get` re-reads one object (NOT_FOUND, out of scope, or a key it cannot read back -> undefined);
 *   `getMany` runs `GET_MANY_CONCURRENCY` gets at a time. Each `get`/`getMany` is a read round that
 *   reads a service once, and the family expansion after it reuses that read (ServiceRound).
 * - `hints` maps the project's audit feed (see AuditHints) plus digests resolved later; a service or
 *   job comes as a `family` hint whose children `childKeysOf` names (the reads happen in the
 *   engine's worker, none in the hint stream).
 * - `cheapPoll` fingerprints the whole scope with list calls only (see projectFingerprint).
 *
 * Failure: every method rejects with the failing API call's error (throttling as ThrottledError);
 * an unreadable page token restarts the list from its first step (the kit's page-token rule).
 */
import { from, merge, concatMap, filter, mergeMap } from 'rxjs';
import type { Observable } from 'rxjs';
import type { CheapPoll, Hint, ListPage, WatchSource, WatchStore } from '../../src/watch/source.js';
import type { ClusterObject } from '../../src/model/index.js';
import { objectHash, objectKey, objectOrder } from '../../src/model/index.js';
import type { AuditFeed } from './audit-source.js';
import { AuditHints } from './audit-hints.js';
import { projectFingerprint } from './fingerprint.js';
import { KeyNames, projectIndexers } from './key-names.js';
import type { ListPosition, ListStep } from './list-token.js';
import { LIST_START, LIST_STEPS, listTokens, nextPosition } from './list-token.js';
import { TokenRestarts, decodeOrRestart } from '../../src/provider/page-token.js';
import { parseResourceName, resourceName } from './names.js';
import { isCurrentExecution, servingRevisions } from './normalizer.js';
import { RunObjectBuilder } from './object-builder.js';
import type { ProjectScope } from './project-scope.js';
import { ServiceRound } from './service-round.js';

/** The first list page's cursor is taken this long before the list starts (audit timestamps lag). */
const LIST_CURSOR_MARGIN_MS = 10_000;
const GET_MANY_CONCURRENCY = 8;
export const CONTROLLER_NAME = 'sightline-cloudrun';

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

export class CloudRunProjectSource implements WatchSource<ClusterObject> {
  readonly id: string;
  readonly cheapPoll: CheapPoll;
  readonly indexers = projectIndexers;
  private readonly names: KeyNames;
  private readonly build: RunObjectBuilder;
  private readonly auditHints: AuditHints;
  private run: ListRun = { prefetched: new Set(), servingRegion: '', serving: new Set() };
  private readonly restarts: TokenRestarts;
  private serviceRound: ServiceRound;

  constructor(
    private readonly scope: ProjectScope,
    private readonly feed: AuditFeed,
  ) {
    this.id = `cloudrun/${scope.project}`;
    this.names = new KeyNames(scope);
    this.build = new RunObjectBuilder(scope);
    this.restarts = new TokenRestarts(scope.deps.logger, this.id);
    this.auditHints = new AuditHints(this.id, scope, this.names);
    this.serviceRound = this.firstServiceRound();
    this.cheapPoll = {
      intervalMs: scope.deps.clusterPollIntervalMs,
      poll: () => projectFingerprint(scope, this.names, this.build),
    };
  }

  private firstServiceRound(): ServiceRound {
    return new ServiceRound((name) => this.scope.lister.getService(name));
  }

  attachStore(store: WatchStore<ClusterObject>): void {
    this.names.attach(store);
  }

  /** Stops the audit feed (open tails end, hint streams complete). */
  close(): void {
    this.feed.close();
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
    // LIST_START itself (never a decoded token): a list starts, or restarts after an unreadable token.
    if (pos === LIST_START) {
      if (pageToken === undefined)
        cursor = this.feed.cursorAt(this.scope.deps.scheduler.now() - LIST_CURSOR_MARGIN_MS);
      this.run = { prefetched: new Set(), servingRegion: '', serving: new Set() };
      this.serviceRound = this.firstServiceRound();
      await this.scope.refreshRegions();
    }
    const regions = await this.scope.regions();
    const region = regions[pos.r];
    const step: ListStep | undefined = LIST_STEPS[pos.s];
    if (region === undefined || step === undefined) return { items: [] };
    const { items, next } = await this.listStep(step, region, pos.t);
    const nextPos = nextPosition(pos, next, regions.length);
    if (step === 'workerPools' && next === '') this.scope.activity(region);
    const page: ListPage<ClusterObject> = { items };
    if (nextPos) page.nextPageToken = listTokens.encode(nextPos);
    if (cursor !== undefined) page.cursor = cursor;
    return page;
  }

  private async listStep(
    step: ListStep,
    region: string,
    token: string,
  ): Promise<{ items: ClusterObject[]; next: string }> {
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
        return { items, next: p.next };
      }
      case 'revisions': {
        const p = await l.revisions(project, region, token);
        const items: ClusterObject[] = [];
        for (const r of p.items)
          if (this.run.servingRegion === region && this.run.serving.has(r.name ?? ''))
            items.push(await this.build.revision(region, r));
        return { items, next: p.next };
      }
      case 'jobs': {
        const p = await l.jobs(project, region, token);
        return { items: p.items.map((j) => this.build.job(region, j)), next: p.next };
      }
      case 'executions': {
        const p = await l.executions(project, region, token);
        const now = this.scope.deps.scheduler.now();
        return {
          items: p.items
            .filter((e) => isCurrentExecution(e, now))
            .map((e) => this.build.execution(region, e)),
          next: p.next,
        };
      }
      case 'workerPools': {
        const p = await l.workerPools(project, region, token);
        return { items: p.items.map((w) => this.build.workerPool(region, w)), next: p.next };
      }
    }
  }

  async get(key: string): Promise<ClusterObject | undefined> {
    return (await this.getMany([key])).get(key);
  }

  /** Reads one key within a read round (services come from `round`, see ServiceRound). */
  private async read(key: string, round: ServiceRound): Promise<ClusterObject | undefined> {
    const ref = await this.names.resolve(key);
    if (!ref || !(await this.scope.inScope(ref.region))) return undefined;
    const l = this.scope.lister;
    const region = ref.region;
    switch (ref.kind) {
      case 'cluster':
        return this.build.cluster(region);
      case 'namespace':
        return this.build.namespace(region);
      case 'service': {
        const s = await round.service(resourceName(ref));
        return s ? this.build.service(region, s) : undefined;
      }
      case 'revision': {
        const s = await round.service(resourceName({ ...ref, kind: 'service', name: ref.service }));
        if (!s || !servingRevisions(s).has(ref.name)) return undefined;
        const r = await l.getRevision(resourceName(ref));
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
  async childKeysOf(parent: ClusterObject): Promise<string[]> {
    const ref = await this.names.refOf(parent);
    const l = this.scope.lister;
    if (ref?.kind === 'service') {
      const s = await this.serviceRound.service(resourceName(ref));
      return [...(s ? servingRevisions(s) : [])].map((name) =>
        this.names.keyOf({ ...ref, kind: 'revision', service: ref.name, name }),
      );
    }
    if (ref?.kind === 'job') {
      const execs = await l.all((tok) => l.executions(ref.project, ref.region, tok, ref.name));
      const now = this.scope.deps.scheduler.now();
      return execs.flatMap((e) => {
        const child = parseResourceName(e.name ?? '');
        return child?.kind === 'execution' && isCurrentExecution(e, now) ? [this.names.keyOf(child)] : [];
      });
    }
    return [];
  }

  /** One read round: `GET_MANY_CONCURRENCY` reads at a time, each service read once (ServiceRound). */
  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const round = (this.serviceRound = this.serviceRound.next());
    const out = new Map<string, ClusterObject | undefined>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next] as string;
        next += 1;
        out.set(key, await this.read(key, round));
      }
    };
    await Promise.all(Array.from({ length: Math.min(GET_MANY_CONCURRENCY, keys.length) }, () => worker()));
    return out;
  }

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    const audit$ = this.feed
      .items(fromCursor)
      .pipe(concatMap((item) => from(this.auditHints.forItem(item)).pipe(mergeMap((hs) => from(hs)))));
    const digest$ = this.scope.digests.resolved$.pipe(
      filter((full) => parseResourceName(full)?.project === this.scope.project),
      mergeMap((full) => from(this.auditHints.forResolvedDigest(full)).pipe(mergeMap((hs) => from(hs)))),
    );
    return merge(audit$, digest$);
  }
}
