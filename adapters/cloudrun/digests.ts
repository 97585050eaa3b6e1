/**
 * Digest resolution for Cloud Run revisions. No v2 resource carries the resolved digest, so, in
 * order: a digest pinned in the image reference; the v1 (Knative) REST Revision's
 * `status.containerStatuses[].imageDigest` / `status.imageDigest` (GET per revision, or the regional
 * list as a prefetch); the v1 Revision carried by `system_event` audit entries (`record`).
 * Revisions are immutable, so resolved digests are cached forever in the KeyValueCache (the state
 * database), and the most recently used `DIGEST_MEMORY_MAX_REVISIONS` also in memory.
 *
 * Never invents a digest: an unresolved revision reports `{reason, detail}` (pending-start while the
 * revision is not Ready, lookup-failed on HTTP/network errors, not-reported-by-provider when Ready
 * without a digest), is counted once per revision and reason in `unresolvedDigests` (among the last
 * `COUNTED_MAX_ENTRIES` revisions and reasons counted), and is retried
 * every `digestRetryIntervalMs`; when it resolves, `resolved$` emits the v2 revision name.
 */
import { Subject } from 'rxjs';
import type { Subscription } from 'rxjs';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import type { ContainerImage, Digest, UnresolvedReason } from '../../src/model/index.js';
import { toContainerImage, parseImageReference } from '../../src/model/index.js';
import type { CloudRunClients } from './client.js';
import type { ContainerDigest } from './audit-mapper.js';
import { v1RevisionDigests } from './audit-mapper.js';
import { PROVIDER, runCall } from './call-policy.js';
import { arr, isObject, obj, str } from './json.js';
import { locationName } from './names.js';
import { flatString, intern } from '../../src/model/intern.js';
import { LruMap } from '../../src/runtime/lru-map.js';

const DIGEST_CACHE_NAMESPACE = 'cloudrun-digests';
export const V1_LIST_LIMIT = 500;
/** Revisions whose digests are kept in memory (the rest are read back from the state database). */
export const DIGEST_MEMORY_MAX_REVISIONS = 10_000;
const COUNTED_MAX_ENTRIES = 100_000;

export type DigestState =
  | { kind: 'resolved'; containers: ContainerDigest[] }
  | { kind: 'unresolved'; reason: UnresolvedReason; detail: string };

export interface RevisionId {
  project: string;
  region: string;
  service: string;
  revision: string;
}

export function revisionFullName(r: RevisionId): string {
  return `${locationName(r.project, r.region)}/services/${r.service}/revisions/${r.revision}`;
}

function v1Path(project: string, revision?: string): string {
  const base = `/apis/serving.knative.dev/v1/namespaces/${encodeURIComponent(project)}/revisions`;
  return revision === undefined ? base : `${base}/${encodeURIComponent(revision)}`;
}

function isReady(v1: unknown): boolean {
  return arr(obj(v1, 'status'), 'conditions').some(
    (c) => str(c, 'type') === 'Ready' && str(c, 'status') === 'True',
  );
}

/** A ContainerDigest with interned, flat strings (for the memory cache). */
function compactDigest(c: ContainerDigest): ContainerDigest {
  const digest = intern(flatString(c.digest)) as Digest;
  const container = intern(c.container);
  return c.image === undefined
    ? { container, digest }
    : { container, image: intern(flatString(c.image)), digest };
}

export type DigestDeps = Pick<ProviderDeps, 'budget' | 'metrics' | 'scheduler' | 'cache' | 'logger'>;

export class DigestResolver {
  readonly resolved$ = new Subject<string>();
  private readonly memory = new LruMap<string, ContainerDigest[]>(DIGEST_MEMORY_MAX_REVISIONS);
  private readonly pending = new Map<string, { id: RevisionId; reason: UnresolvedReason; detail: string }>();
  private readonly counted = new LruMap<string, true>(COUNTED_MAX_ENTRIES);
  private retrySub: Subscription | undefined;
  private retrying = false;

  constructor(
    private readonly clients: Pick<CloudRunClients, 'getV1'>,
    private readonly deps: DigestDeps,
    private readonly retryIntervalMs: number,
  ) {}

  /** Starts the periodic retry of unresolved revisions (on the injected scheduler). */
  start(): void {
    if (this.retrySub) return;
    const tick = (): void => {
      void this.retryPending().finally(() => {
        if (this.retrySub)
          this.retrySub = this.deps.scheduler.schedule(tick, this.retryIntervalMs) as Subscription;
      });
    };
    this.retrySub = this.deps.scheduler.schedule(tick, this.retryIntervalMs) as Subscription;
  }

  close(): void {
    this.retrySub?.unsubscribe();
    this.retrySub = undefined;
    this.resolved$.complete();
  }

  lookup(revFull: string): ContainerDigest[] | undefined {
    const m = this.memory.get(revFull);
    if (m) return m;
    const cached = this.deps.cache.get(DIGEST_CACHE_NAMESPACE, revFull);
    if (cached === undefined) return undefined;
    try {
      const parsed = JSON.parse(cached) as ContainerDigest[];
      if (Array.isArray(parsed) && parsed.length > 0) {
        this.memory.set(revFull, parsed);
        return parsed;
      }
    } catch {
      // a corrupt cache row is ignored and overwritten on the next resolution
    }
    return undefined;
  }

  /** Records digests (from a v1 Revision seen anywhere). Emits `resolved$` if the revision was pending. */
  record(id: RevisionId, containers: ContainerDigest[]): void {
    if (containers.length === 0) return;
    const full = revisionFullName(id);
    const known = this.memory.has(full);
    // Kept flat and interned: a digest sliced out of an `image@sha256:…` reference would keep the
    // whole reference alive.
    this.memory.set(full, containers.map(compactDigest));
    if (!known) this.deps.cache.set(DIGEST_CACHE_NAMESPACE, full, JSON.stringify(containers));
    if (this.pending.delete(full)) this.resolved$.next(full);
  }

  /** Revisions whose digests are held in memory (for tests and measurements). */
  get memorySize(): number {
    return this.memory.size;
  }

  unresolvedCount(): number {
    return this.pending.size;
  }

  /** The digests of a revision, fetching the v1 Revision when not known. */
  async ensure(id: RevisionId): Promise<DigestState> {
    const full = revisionFullName(id);
    const known = this.lookup(full);
    if (known) return { kind: 'resolved', containers: known };
    let state: DigestState;
    try {
      const res = await runCall(this.deps, 'v1.GetRevision', () =>
        this.clients.getV1(id.region, v1Path(id.project, id.revision)),
      );
      if (res.status === 200 && isObject(res.body)) {
        const containers = v1RevisionDigests(res.body);
        if (containers.length > 0) {
          this.record(id, containers);
          return { kind: 'resolved', containers };
        }
        state = isReady(res.body)
          ? {
              kind: 'unresolved',
              reason: 'not-reported-by-provider',
              detail: 'v1 Revision is Ready but reports no imageDigest',
            }
          : {
              kind: 'unresolved',
              reason: 'pending-start',
              detail: 'v1 Revision is not Ready yet (no imageDigest)',
            };
      } else {
        state = {
          kind: 'unresolved',
          reason: 'lookup-failed',
          detail: `v1 GET revision answered HTTP ${res.status}`,
        };
      }
    } catch (err) {
      state = {
        kind: 'unresolved',
        reason: 'lookup-failed',
        detail: `v1 GET revision failed: ${(err as Error).name}`,
      };
    }
    this.markPending(id, full, state.reason, state.detail);
    return state;
  }

  private markPending(id: RevisionId, full: string, reason: UnresolvedReason, detail: string): void {
    this.pending.set(full, { id, reason, detail });
    this.countUnresolved(full, reason);
  }

  /** Counts an unresolved sighting once per resource and reason. */
  countUnresolved(resourceFull: string, reason: UnresolvedReason): void {
    const countKey = `${resourceFull}\u0000${reason}`;
    if (!this.counted.has(countKey)) {
      this.counted.set(countKey, true);
      this.deps.metrics.unresolvedDigests.inc({ provider: PROVIDER, reason });
    }
  }

  /** Lists a region's v1 Revisions (all pages) and records every digest found. Errors are logged, not thrown. */
  async prefetchRegion(project: string, region: string): Promise<number> {
    let calls = 0;
    let token = '';
    try {
      do {
        const q = `?limit=${V1_LIST_LIMIT}${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
        calls += 1;
        const res = await runCall(this.deps, 'v1.ListRevisions', () =>
          this.clients.getV1(region, v1Path(project) + q),
        );
        if (res.status !== 200 || !isObject(res.body)) {
          this.deps.logger.warn(
            { project, region, status: res.status },
            'v1 revision list failed: resolving digests one by one',
          );
          return calls;
        }
        for (const item of arr(res.body, 'items')) {
          const md = obj(item, 'metadata');
          const name = str(md, 'name');
          const service = str(obj(md, 'labels'), 'serving.knative.dev/service');
          if (!name || !service) continue;
          const containers = v1RevisionDigests(item);
          if (containers.length > 0) this.record({ project, region, service, revision: name }, containers);
        }
        token = str(obj(res.body, 'metadata'), 'continue') ?? '';
      } while (token !== '');
    } catch (err) {
      this.deps.logger.warn(
        { project, region, err },
        'v1 revision list failed: resolving digests one by one',
      );
    }
    return calls;
  }

  private async retryPending(): Promise<void> {
    if (this.retrying) return;
    this.retrying = true;
    try {
      for (const [full, p] of [...this.pending]) {
        if (!this.pending.has(full)) continue;
        await this.ensure(p.id);
      }
    } finally {
      this.retrying = false;
    }
  }

  /** Forgets a revision that is gone (no more retries). */
  forget(revFull: string): void {
    this.pending.delete(revFull);
  }

  /**
   * The ContainerImage of one container of a revision: the v1 digest for that container (matched by
   * name, else the only one), a pinned digest, or unresolved with the reason.
   */
  imageOf(reference: string, containerName: string, state: DigestState | undefined): ContainerImage {
    if (state?.kind === 'resolved') {
      const byName = state.containers.find((c) => c.container === containerName);
      const match = byName ?? (state.containers.length === 1 ? state.containers[0] : undefined);
      if (match) return toContainerImage(reference, match.digest);
    }
    const parsed = parseImageReference(reference);
    if (parsed.ok && parsed.value.digest) return toContainerImage(reference);
    if (state?.kind === 'unresolved')
      return toContainerImage(reference, undefined, state.reason, state.detail);
    return toContainerImage(
      reference,
      undefined,
      'not-reported-by-provider',
      'no v1 Revision digest for this container',
    );
  }
}
