/**
 * Run resources -> model objects for one project, with what the pure normalizer leaves to the
 * caller: images resolved through the digest resolver (a service's template takes its latest created
 * revision's digests where the image matches; jobs, executions and worker pools have no digest and
 * say so, counted once per resource), and the object's provider order (updateTime, falling back to
 * generation or createTime). Keeps no state of its own.
 *
 * A service's images are those of the revisions serving it (`serviceImageSource`): its template
 * when the latest created revision is what serves; otherwise each serving revision's containers,
 * from its v1 Revision (the digest resolver keeps references with digests; revisions are immutable,
 * so a known one costs no call), or from GetRevision when the v1 Revision has none (unresolved).
 *
 * Failure: the builders reject only when a digest lookup or revision read they wait for rejects
 * (never for an unresolved digest: that is a reason on the image).
 */
import type { ClusterObject, ContainerImage, WorkloadContainer } from '../../src/model/index.js';
import { parseImageReference, toContainerImage } from '../../src/model/index.js';
import type { DigestState } from './digests.js';
import { parseResourceName } from './names.js';
import {
  clusterObject,
  containersOf,
  executionToObject,
  jobToObject,
  namespaceObject,
  revisionToObject,
  serviceImageSource,
  serviceToObject,
  timestampMs,
  toNumber,
  workerPoolToObject,
} from './normalizer.js';
import type {
  IContainer,
  IExecution,
  IJob,
  IRevision,
  IService,
  IWorkerPool,
  ImageResolver,
} from './normalizer.js';
import type { ProjectScope } from './project-scope.js';

function needsDigest(containers: IContainer[] | null | undefined): boolean {
  return (containers ?? []).some((c) => {
    const p = parseImageReference(c.image ?? '');
    return !(p.ok && p.value.digest);
  });
}

function withOrder(obj: ClusterObject, order: number | undefined): ClusterObject {
  if (order !== undefined) obj.order = order;
  return obj;
}

export class RunObjectBuilder {
  constructor(private readonly scope: ProjectScope) {}

  cluster(region: string): ClusterObject {
    const { tenant, agentVersion } = this.scope.deps;
    return clusterObject(this.scope.project, region, { tenant, agentVersion });
  }

  namespace(region: string): ClusterObject {
    return namespaceObject(this.scope.project, region);
  }

  async service(region: string, s: IService): Promise<ClusterObject> {
    const source = serviceImageSource(s);
    const latest = s.latestCreatedRevision ?? '';
    let serving: WorkloadContainer[] | undefined;
    if (source.kind === 'none') serving = [];
    if (source.kind === 'revisions') {
      serving = [];
      const seen = new Set<string>();
      for (const short of source.revisions) {
        const full = `${s.name ?? ''}/revisions/${short}`;
        const containers =
          full === latest ? await this.templateContainers(s) : await this.revisionContainers(full);
        for (const c of containers) {
          const id = `${c.name}\u0000${c.image.reference}\u0000${c.image.digest ?? ''}`;
          if (seen.has(id)) continue;
          seen.add(id);
          serving.push(c);
        }
      }
    }
    const obj =
      serving !== undefined
        ? serviceToObject(this.scope.project, region, s, () => this.unused(), serving)
        : serviceToObject(this.scope.project, region, s, await this.templateResolver(s));
    // updateTime, not generation: generation restarts at 1 when a service is deleted and re-created
    // under the same name (same key), and the engine would drop the new one as older.
    return withOrder(obj, timestampMs(s.updateTime) ?? toNumber(s.generation));
  }

  async revision(region: string, r: IRevision): Promise<ClusterObject> {
    const state = await this.revisionDigests(r.name, r.containers);
    const obj = revisionToObject(this.scope.project, region, r, (reference, containerName) =>
      this.scope.digests.imageOf(reference, containerName, state),
    );
    return withOrder(obj, timestampMs(r.updateTime) ?? timestampMs(r.createTime));
  }

  job(region: string, j: IJob): ClusterObject {
    const obj = jobToObject(this.scope.project, region, j, this.noDigest(j.name ?? '', 'jobs'));
    return withOrder(obj, timestampMs(j.updateTime) ?? toNumber(j.generation)); // see service()
  }

  execution(region: string, e: IExecution): ClusterObject {
    const resolve = this.noDigest(e.name ?? '', 'job executions');
    const obj = executionToObject(this.scope.project, region, e, resolve);
    return withOrder(obj, timestampMs(e.updateTime) ?? timestampMs(e.createTime));
  }

  workerPool(region: string, w: IWorkerPool): ClusterObject {
    const resolve = this.noDigest(w.name ?? '', 'worker pools');
    return withOrder(workerPoolToObject(this.scope.project, region, w, resolve), toNumber(w.generation));
  }

  /** Resolves the service template's images with its latest created revision's digests. */
  private async templateResolver(s: IService): Promise<ImageResolver> {
    const digests = this.scope.digests;
    const state = await this.revisionDigests(s.latestCreatedRevision, s.template?.containers);
    // The template is the latest created revision's; use its digest only where the image matches.
    return (reference, containerName) => {
      if (state?.kind === 'resolved') {
        const containers = state.containers.filter((c) => c.image === undefined || c.image === reference);
        return digests.imageOf(reference, containerName, { kind: 'resolved', containers });
      }
      return digests.imageOf(reference, containerName, state);
    };
  }

  private async templateContainers(s: IService): Promise<WorkloadContainer[]> {
    return containersOf(s.template?.containers, await this.templateResolver(s));
  }

  /**
   * A serving revision's containers other than the latest created: from its v1 Revision's digests
   * when they carry every reference, else from GetRevision (none when the revision is gone).
   */
  private async revisionContainers(revFull: string): Promise<WorkloadContainer[]> {
    const ref = parseResourceName(revFull);
    if (ref?.kind !== 'revision') return [];
    const state = await this.scope.digests.ensure({
      project: ref.project,
      region: ref.region,
      service: ref.service,
      revision: ref.name,
    });
    if (state.kind === 'resolved' && state.containers.every((c) => c.image !== undefined))
      return state.containers.map((c, i) => ({
        name: c.container || `container-${i}`,
        image: toContainerImage(c.image ?? '', c.digest),
      }));
    const r = await this.scope.lister.getRevision(revFull);
    if (!r) return [];
    return containersOf(r.containers, (reference, containerName) =>
      this.scope.digests.imageOf(reference, containerName, state),
    );
  }

  /** The resolver of a service built from its serving revisions' containers: never asked. */
  private unused(): never {
    throw new Error('serving containers are resolved already');
  }

  private noDigest(full: string, what: string) {
    return (reference: string): ContainerImage => {
      const img = toContainerImage(
        reference,
        undefined,
        'not-reported-by-provider',
        `Cloud Run reports no image digest for ${what}`,
      );
      if (img.unresolved) this.scope.digests.countUnresolved(full, img.unresolved.reason);
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
    return this.scope.digests.ensure({
      project: ref.project,
      region: ref.region,
      service: ref.service,
      revision: ref.name,
    });
  }
}
