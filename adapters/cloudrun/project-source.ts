/**
 * The WatchSource of one GCP project (all its configured regions; one model Cluster per region):
 * clusters and namespaces, services and their serving revisions, jobs and their current
 * executions, worker pools.
 *
 * - `list` pages through, per region: cluster+namespace (no API call), ListServices (after a v1
 *   revision-list digest prefetch), ListRevisions (service `-`, only revisions serving traffic or
 *   latest created), ListJobs, ListExecutions (job `-`, running or recent), ListWorkerPools. Page
 *   tokens are opaque; the first page carries the audit cursor taken before listing.
 * - `get` re-reads one object (NOT_FOUND, or out of scope -> undefined).
 * - `hints` maps the project's audit feed to hints (services and jobs expanded with their current
 *   revisions / executions, with full states), plus `changed` hints when a digest resolves later.
 * - `cheapPoll` fingerprints the whole scope with list calls only and emits activity per region.
 * Keys of objects it has seen are remembered (memory + KeyValueCache) so `get` works after restart.
 */
import { randomUUID } from 'node:crypto';
import { from, merge, concatMap, filter, mergeMap } from 'rxjs';
import type { Observable } from 'rxjs';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import type { CheapPoll, Hint, ListPage, WatchSource } from '../../src/watch/source.js';
import type { ClusterObject, ContainerImage } from '../../src/model/index.js';
import {
  objectHash,
  objectKey,
  objectOrder,
  parseImageReference,
  toContainerImage,
} from '../../src/model/index.js';
import type { AuditFeed, FeedItem } from './audit-source.js';
import type { AuditHint } from './audit-mapper.js';
import { auditEntryToHints } from './audit-mapper.js';
import type { DigestResolver, DigestState } from './digests.js';
import type { RunLister } from './lister.js';
import type { RunResourceRef } from './names.js';
import { parseResourceName, resourceName, shortName } from './names.js';
import { PROVIDER } from './api-call.js';
import {
  cloudRunClusterId,
  clusterKey,
  clusterObject,
  executionToObject,
  isCurrentExecution,
  jobToObject,
  namespaceKey,
  namespaceObject,
  revisionToObject,
  serviceToObject,
  servingRevisions,
  timestampMs,
  toNumber,
  workerPoolToObject,
  workloadKey,
} from './normalizer.js';
import type { IContainer, IExecution, IJob, IRevision, IService, IWorkerPool } from './normalizer.js';

export const KEY_CACHE_NAMESPACE = 'cloudrun-keys';
/** The first list page's cursor is taken this long before the list starts (audit timestamps lag). */
export const LIST_CURSOR_MARGIN_MS = 10_000;
export const GET_MANY_CONCURRENCY = 8;
export const CONTROLLER_NAME = 'sightline-cloudrun';

const STEPS = ['cluster', 'services', 'revisions', 'jobs', 'executions', 'workerPools'] as const;
type Step = (typeof STEPS)[number];

type KeyRef = { kind: 'cluster' | 'namespace'; project: string; region: string } | RunResourceRef;

interface PageState {
  l: string;
  r: number;
  s: number;
  t: string;
}

export interface ProjectSourceOptions {
  project: string;
  /** Configured regions, or a function resolving them (ListLocations for `regions: all`). */
  regions: () => Promise<string[]>;
  lister: RunLister;
  feed: AuditFeed;
  digests: DigestResolver;
  deps: ProviderDeps;
  onActivity: (clusterId: string) => void;
}

function needsDigest(containers: IContainer[] | null | undefined): boolean {
  return (containers ?? []).some((c) => {
    const p = parseImageReference(c.image ?? '');
    return !(p.ok && p.value.digest);
  });
}

function encodeState(s: PageState): string {
  return Buffer.from(JSON.stringify(s)).toString('base64url');
}

function decodeState(token: string): PageState {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageState>;
    if (
      typeof v.l === 'string' &&
      typeof v.r === 'number' &&
      typeof v.s === 'number' &&
      typeof v.t === 'string'
    ) {
      return { l: v.l, r: v.r, s: v.s, t: v.t };
    }
  } catch {
    // fall through
  }
  throw new Error('invalid Cloud Run page token');
}

export class CloudRunProjectSource implements WatchSource<ClusterObject> {
  readonly id: string;
  readonly cheapPoll: CheapPoll;
  private readonly project: string;
  private readonly refs = new Map<string, KeyRef>();
  private readonly serving = new Map<string, Set<string>>();
  /** Parent (service / job full name) -> keys of its revisions / executions we reported. */
  private readonly children = new Map<string, Set<string>>();
  private readonly prefetched = new Map<string, Set<string>>();
  private regionsCache: string[] | undefined;

  constructor(private readonly o: ProjectSourceOptions) {
    this.project = o.project;
    this.id = `cloudrun/${o.project}`;
    this.cheapPoll = { intervalMs: o.deps.clusterPollIntervalMs, poll: () => this.poll() };
  }

  /** Stops the audit feed (open tails end, hint streams complete). */
  close(): void {
    this.o.feed.close();
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

  private async regions(refresh = false): Promise<string[]> {
    if (refresh || this.regionsCache === undefined) this.regionsCache = await this.o.regions();
    return this.regionsCache;
  }

  private remember(key: string, ref: KeyRef): void {
    if (this.refs.has(key)) return;
    this.refs.set(key, ref);
    this.o.deps.cache.set(KEY_CACHE_NAMESPACE, key, JSON.stringify(ref));
  }

  private refOf(key: string): KeyRef | undefined {
    const m = this.refs.get(key);
    if (m) return m;
    const cached = this.o.deps.cache.get(KEY_CACHE_NAMESPACE, key);
    if (cached === undefined) return undefined;
    try {
      const ref = JSON.parse(cached) as KeyRef;
      this.refs.set(key, ref);
      return ref;
    } catch {
      return undefined;
    }
  }

  private keyOfRef(ref: RunResourceRef): string {
    const key = workloadKey(ref.project, ref.region, resourceName(ref));
    this.remember(key, ref);
    return key;
  }

  private addChild(parentFull: string, key: string): void {
    const set = this.children.get(parentFull) ?? new Set<string>();
    set.add(key);
    this.children.set(parentFull, set);
  }

  private activity(region: string): void {
    this.o.onActivity(cloudRunClusterId(this.project, region));
  }

  // ------------------------------------------------------------------ normalization

  private fixedObjects(region: string): ClusterObject[] {
    const c = clusterObject(this.project, region, {
      tenant: this.o.deps.tenant,
      agentVersion: this.o.deps.agentVersion,
    });
    const n = namespaceObject(this.project, region);
    this.remember(clusterKey(this.project, region), { kind: 'cluster', project: this.project, region });
    this.remember(namespaceKey(this.project, region), { kind: 'namespace', project: this.project, region });
    return [c, n];
  }

  private noDigestSource(full: string, what: string) {
    return (reference: string): ContainerImage => {
      const img = toContainerImage(
        reference,
        undefined,
        'not-reported-by-provider',
        `Cloud Run reports no image digest for ${what}`,
      );
      if (img.unresolved) this.o.digests.countUnresolved(full, img.unresolved.reason);
      return img;
    };
  }

  private async revisionDigests(
    revFull: string | null | undefined,
    containers: IContainer[] | null | undefined,
  ): Promise<DigestState | undefined> {
    if (!revFull || !needsDigest(containers)) return undefined;
    const ref = parseResourceName(revFull);
    if (ref?.kind !== 'revision') return undefined;
    return this.o.digests.ensure({
      project: ref.project,
      region: ref.region,
      service: ref.service,
      revision: ref.name,
    });
  }

  private async normalizeService(region: string, s: IService): Promise<ClusterObject> {
    const name = s.name ?? '';
    this.serving.set(name, servingRevisions(s));
    const state = await this.revisionDigests(s.latestCreatedRevision, s.template?.containers);
    // The template is the latest created revision's; use its digest only where the image matches.
    const obj = serviceToObject(this.project, region, s, (reference, containerName) => {
      if (state?.kind === 'resolved') {
        const containers = state.containers.filter((c) => c.image === undefined || c.image === reference);
        return this.o.digests.imageOf(reference, containerName, { kind: 'resolved', containers });
      }
      return this.o.digests.imageOf(reference, containerName, state);
    });
    // updateTime, not generation: generation restarts at 1 when a service is deleted and re-created
    // under the same name (same key), and the engine would drop the new one as older.
    const order = timestampMs(s.updateTime) ?? toNumber(s.generation);
    if (order !== undefined) obj.order = order;
    this.remember(objectKey(obj), { kind: 'service', project: this.project, region, name: shortName(name) });
    return obj;
  }

  private async normalizeRevision(region: string, r: IRevision): Promise<ClusterObject> {
    const state = await this.revisionDigests(r.name, r.containers);
    const obj = revisionToObject(this.project, region, r, (reference, containerName) =>
      this.o.digests.imageOf(reference, containerName, state),
    );
    const order = timestampMs(r.updateTime) ?? timestampMs(r.createTime);
    if (order !== undefined) obj.order = order;
    const ref = parseResourceName(r.name ?? '');
    if (ref) {
      this.remember(objectKey(obj), ref);
      if (ref.kind === 'revision')
        this.addChild(
          resourceName({ kind: 'service', project: ref.project, region: ref.region, name: ref.service }),
          objectKey(obj),
        );
    }
    return obj;
  }

  private normalizeJob(region: string, j: IJob): ClusterObject {
    const obj = jobToObject(this.project, region, j, this.noDigestSource(j.name ?? '', 'jobs'));
    const order = timestampMs(j.updateTime) ?? toNumber(j.generation); // see normalizeService
    if (order !== undefined) obj.order = order;
    this.remember(objectKey(obj), {
      kind: 'job',
      project: this.project,
      region,
      name: shortName(j.name ?? ''),
    });
    return obj;
  }

  private normalizeExecution(region: string, e: IExecution): ClusterObject {
    const obj = executionToObject(
      this.project,
      region,
      e,
      this.noDigestSource(e.name ?? '', 'job executions'),
    );
    const order = timestampMs(e.updateTime) ?? timestampMs(e.createTime);
    if (order !== undefined) obj.order = order;
    const ref = parseResourceName(e.name ?? '');
    if (ref) {
      this.remember(objectKey(obj), ref);
      if (ref.kind === 'execution')
        this.addChild(
          resourceName({ kind: 'job', project: ref.project, region: ref.region, name: ref.job }),
          objectKey(obj),
        );
    }
    return obj;
  }

  private normalizeWorkerPool(region: string, w: IWorkerPool): ClusterObject {
    const obj = workerPoolToObject(
      this.project,
      region,
      w,
      this.noDigestSource(w.name ?? '', 'worker pools'),
    );
    const order = toNumber(w.generation);
    if (order !== undefined) obj.order = order;
    this.remember(objectKey(obj), {
      kind: 'workerPool',
      project: this.project,
      region,
      name: shortName(w.name ?? ''),
    });
    return obj;
  }

  private isServing(revFull: string): boolean {
    const ref = parseResourceName(revFull);
    if (ref?.kind !== 'revision') return false;
    const svc = resourceName({
      kind: 'service',
      project: ref.project,
      region: ref.region,
      name: ref.service,
    });
    return this.serving.get(svc)?.has(ref.name) ?? false;
  }

  // ------------------------------------------------------------------ list

  async list(pageToken: string | undefined): Promise<ListPage<ClusterObject>> {
    let st: PageState;
    let cursor: string | undefined;
    if (pageToken === undefined) {
      cursor = this.o.feed.cursorAt(this.o.deps.scheduler.now() - LIST_CURSOR_MARGIN_MS);
      st = { l: randomUUID(), r: 0, s: 0, t: '' };
      this.prefetched.set(st.l, new Set());
      while (this.prefetched.size > 4) this.prefetched.delete(this.prefetched.keys().next().value as string);
      await this.regions(true);
    } else st = decodeState(pageToken);
    const regions = await this.regions();
    const region = regions[st.r];
    const step: Step | undefined = STEPS[st.s];
    if (region === undefined || step === undefined) return { items: [] };
    const { items, next } = await this.listStep(step, region, st.t, st.l);
    let nextState: PageState | undefined;
    if (next !== '') nextState = { ...st, t: next };
    else if (st.s + 1 < STEPS.length) nextState = { ...st, s: st.s + 1, t: '' };
    else if (st.r + 1 < regions.length) nextState = { l: st.l, r: st.r + 1, s: 0, t: '' };
    if (!nextState) this.prefetched.delete(st.l);
    if (step === 'workerPools' && next === '') this.activity(region);
    const page: ListPage<ClusterObject> = { items };
    if (nextState) page.nextPageToken = encodeState(nextState);
    if (cursor !== undefined) page.cursor = cursor;
    return page;
  }

  private async listStep(
    step: Step,
    region: string,
    token: string,
    listId: string,
  ): Promise<{ items: ClusterObject[]; next: string }> {
    const l = this.o.lister;
    switch (step) {
      case 'cluster':
        return { items: this.fixedObjects(region), next: '' };
      case 'services': {
        const done = this.prefetched.get(listId);
        if (done && !done.has(region)) {
          done.add(region);
          await this.o.digests.prefetchRegion(this.project, region);
        }
        const p = await l.services(this.project, region, token);
        const items: ClusterObject[] = [];
        for (const s of p.items) items.push(await this.normalizeService(region, s));
        return { items, next: p.next };
      }
      case 'revisions': {
        const p = await l.revisions(this.project, region, token);
        const items: ClusterObject[] = [];
        for (const r of p.items)
          if (this.isServing(r.name ?? '')) items.push(await this.normalizeRevision(region, r));
        return { items, next: p.next };
      }
      case 'jobs': {
        const p = await l.jobs(this.project, region, token);
        return { items: p.items.map((j) => this.normalizeJob(region, j)), next: p.next };
      }
      case 'executions': {
        const p = await l.executions(this.project, region, token);
        const now = this.o.deps.scheduler.now();
        return {
          items: p.items
            .filter((e) => isCurrentExecution(e, now))
            .map((e) => this.normalizeExecution(region, e)),
          next: p.next,
        };
      }
      case 'workerPools': {
        const p = await l.workerPools(this.project, region, token);
        return { items: p.items.map((w) => this.normalizeWorkerPool(region, w)), next: p.next };
      }
    }
  }

  // ------------------------------------------------------------------ get

  async get(key: string): Promise<ClusterObject | undefined> {
    const ref = this.refOf(key);
    if (!ref || ref.project !== this.project) return undefined;
    const regions = await this.regions();
    if (!regions.includes(ref.region)) return undefined;
    const l = this.o.lister;
    const region = ref.region;
    switch (ref.kind) {
      case 'cluster':
        return this.fixedObjects(region)[0];
      case 'namespace':
        return this.fixedObjects(region)[1];
      case 'service': {
        const s = await l.getService(resourceName(ref));
        if (!s) {
          this.serving.delete(resourceName(ref));
          return undefined;
        }
        return this.normalizeService(region, s);
      }
      case 'revision': {
        const s = await l.getService(
          resourceName({ kind: 'service', project: ref.project, region, name: ref.service }),
        );
        if (!s) return undefined;
        this.serving.set(s.name ?? '', servingRevisions(s));
        if (!this.isServing(resourceName(ref))) return undefined;
        const r = await l.getRevision(resourceName(ref));
        return r ? this.normalizeRevision(region, r) : undefined;
      }
      case 'job': {
        const j = await l.getJob(resourceName(ref));
        return j ? this.normalizeJob(region, j) : undefined;
      }
      case 'execution': {
        const e = await l.getExecution(resourceName(ref));
        return e && isCurrentExecution(e, this.o.deps.scheduler.now())
          ? this.normalizeExecution(region, e)
          : undefined;
      }
      case 'workerPool': {
        const w = await l.getWorkerPool(resourceName(ref));
        return w ? this.normalizeWorkerPool(region, w) : undefined;
      }
    }
  }

  async getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>> {
    const out = new Map<string, ClusterObject | undefined>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next] as string;
        next += 1;
        out.set(key, await this.get(key));
      }
    };
    await Promise.all(Array.from({ length: Math.min(GET_MANY_CONCURRENCY, keys.length) }, () => worker()));
    return out;
  }

  // ------------------------------------------------------------------ hints

  hints(fromCursor: string | undefined): Observable<Hint<ClusterObject>> {
    const audit$ = this.o.feed
      .items(fromCursor)
      .pipe(concatMap((item) => from(this.hintsFor(item)).pipe(mergeMap((hs) => from(hs)))));
    const digest$ = this.o.digests.resolved$.pipe(
      filter((full) => parseResourceName(full)?.project === this.project),
      mergeMap((full) => from(this.digestHints(full)).pipe(mergeMap((hs) => from(hs)))),
    );
    return merge(audit$, digest$);
  }

  private async digestHints(revFull: string): Promise<Hint<ClusterObject>[]> {
    const ref = parseResourceName(revFull);
    if (ref?.kind !== 'revision') return [];
    const regions = await this.regions();
    if (!regions.includes(ref.region)) return [];
    return [
      { type: 'changed', key: this.keyOfRef(ref) },
      {
        type: 'changed',
        key: this.keyOfRef({ kind: 'service', project: ref.project, region: ref.region, name: ref.service }),
      },
    ];
  }

  private async hintsFor(item: FeedItem): Promise<Hint<ClusterObject>[]> {
    if (item.kind === 'gap') return [{ type: 'gap', reason: item.reason }];
    if (item.kind === 'caughtUp') return [{ type: 'bookmark', cursor: item.cursor }];
    const m = auditEntryToHints(item.entry);
    this.o.deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: m.outcome });
    if (m.outcome !== 'mapped') {
      this.o.deps.logger.debug(
        { source: this.id, outcome: m.outcome, reason: m.reason },
        'audit entry skipped',
      );
    }
    const d = m.revisionDigests;
    if (d && d.project === this.project) this.o.digests.record(d, d.containers);
    const regions = await this.regions();
    const out: Hint<ClusterObject>[] = [];
    const seen = new Set<string>();
    for (const h of m.hints) {
      if (h.target.project !== this.project || !regions.includes(h.target.region)) continue;
      this.activity(h.target.region);
      for (const hint of await this.expand(h, item.cursor)) {
        const id = `${hint.type}/${'key' in hint ? hint.key : ''}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(hint);
      }
    }
    return out;
  }

  private changed(key: string, cursor: string, state?: ClusterObject): Hint<ClusterObject> {
    return state === undefined ? { type: 'changed', key, cursor } : { type: 'changed', key, state, cursor };
  }

  private goneWithChildren(parentKey: string, parentFull: string, cursor: string): Hint<ClusterObject>[] {
    const out: Hint<ClusterObject>[] = [{ type: 'deleted', key: parentKey, cursor }];
    for (const k of this.children.get(parentFull) ?? []) out.push({ type: 'deleted', key: k, cursor });
    this.children.delete(parentFull);
    this.serving.delete(parentFull);
    return out;
  }

  /** One audit hint -> source hints, with current states fetched where one call gives them. */
  private async expand(h: AuditHint, cursor: string): Promise<Hint<ClusterObject>[]> {
    const t = h.target;
    const key = this.keyOfRef(t);
    const full = resourceName(t);
    if (h.type === 'deleted') {
      if (t.kind === 'service' || t.kind === 'job') return this.goneWithChildren(key, full, cursor);
      if (t.kind === 'revision') this.o.digests.forget(full);
      return [{ type: 'deleted', key, cursor }];
    }
    try {
      if (t.kind === 'service') {
        const s = await this.o.lister.getService(full);
        if (!s) return this.goneWithChildren(key, full, cursor);
        const state = await this.normalizeService(t.region, s);
        const out: Hint<ClusterObject>[] = [this.changed(key, cursor, state)];
        const current = new Set<string>();
        for (const rev of this.serving.get(full) ?? []) {
          const revRef: RunResourceRef = {
            kind: 'revision',
            project: t.project,
            region: t.region,
            service: t.name,
            name: rev,
          };
          const revKey = this.keyOfRef(revRef);
          current.add(revKey);
          const r = await this.o.lister.getRevision(resourceName(revRef));
          out.push(
            r
              ? this.changed(revKey, cursor, await this.normalizeRevision(t.region, r))
              : { type: 'deleted', key: revKey, cursor },
          );
        }
        for (const k of this.children.get(full) ?? [])
          if (!current.has(k)) out.push({ type: 'deleted', key: k, cursor });
        this.children.set(full, current);
        return out;
      }
      if (t.kind === 'job') {
        const j = await this.o.lister.getJob(full);
        if (!j) return this.goneWithChildren(key, full, cursor);
        const out: Hint<ClusterObject>[] = [this.changed(key, cursor, this.normalizeJob(t.region, j))];
        const execs = await this.o.lister.all((tok) =>
          this.o.lister.executions(t.project, t.region, tok, t.name),
        );
        const now = this.o.deps.scheduler.now();
        for (const e of execs)
          if (isCurrentExecution(e, now)) {
            const obj = this.normalizeExecution(t.region, e);
            out.push(this.changed(objectKey(obj), cursor, obj));
          }
        return out;
      }
    } catch (err) {
      this.o.deps.logger.debug({ source: this.id, err }, 'hint expansion failed: passing a plain hint');
    }
    return [this.changed(key, cursor)];
  }

  // ------------------------------------------------------------------ cheap poll

  private digestToken(revFull: string | null | undefined): string {
    if (!revFull) return '';
    const d = this.o.digests.lookup(revFull);
    return d ? d.map((c) => c.digest).join(',') : 'unresolved';
  }

  private async poll(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const l = this.o.lister;
    const now = this.o.deps.scheduler.now();
    for (const region of await this.regions()) {
      for (const o of this.fixedObjects(region)) out.set(objectKey(o), objectHash(o));
      for (const s of await l.all((t) => l.services(this.project, region, t))) {
        const name = s.name ?? '';
        const ref: RunResourceRef = { kind: 'service', project: this.project, region, name: shortName(name) };
        out.set(
          this.keyOfRef(ref),
          `${s.etag ?? ''}|${String(s.generation ?? '')}|${this.digestToken(s.latestCreatedRevision)}`,
        );
        const serving = servingRevisions(s);
        this.serving.set(name, serving);
        for (const rev of serving) {
          const revRef: RunResourceRef = {
            kind: 'revision',
            project: this.project,
            region,
            service: ref.name,
            name: rev,
          };
          out.set(this.keyOfRef(revRef), this.digestToken(resourceName(revRef)));
        }
      }
      for (const j of await l.all((t) => l.jobs(this.project, region, t))) {
        out.set(
          this.keyOfRef({ kind: 'job', project: this.project, region, name: shortName(j.name ?? '') }),
          `${j.etag ?? ''}|${String(j.generation ?? '')}`,
        );
      }
      for (const e of await l.all((t) => l.executions(this.project, region, t))) {
        const ref = parseResourceName(e.name ?? '');
        if (ref?.kind !== 'execution' || !isCurrentExecution(e, now)) continue;
        out.set(this.keyOfRef(ref), `${e.etag ?? ''}|${String(timestampMs(e.updateTime) ?? '')}`);
      }
      for (const w of await l.all((t) => l.workerPools(this.project, region, t))) {
        out.set(
          this.keyOfRef({ kind: 'workerPool', project: this.project, region, name: shortName(w.name ?? '') }),
          `${w.etag ?? ''}|${String(w.generation ?? '')}`,
        );
      }
      this.activity(region);
    }
    return out;
  }
}
