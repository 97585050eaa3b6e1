/**
 * Run resources -> model objects for one project, with what the pure normalizer leaves to the
 * caller: images resolved through the digest resolver (a service's template takes its latest created
 * revision's digests where the image matches; jobs, executions and worker pools have no digest and
 * say so, counted once per resource), and the object's provider order (updateTime, falling back to
 * generation or createTime). Keeps no state of its own.
 *
 * Failure: the builders reject only when a digest lookup they wait for rejects (never for an
 * unresolved digest: that is a reason on the image).
 */
import type { ClusterObject, ContainerImage } from '../../src/model/index.js';
import { parseImageReference, toContainerImage } from '../../src/model/index.js';
import type { DigestState } from './digests.js';
import { parseResourceName } from './names.js';
import {
  clusterObject,
  executionToObject,
  jobToObject,
  namespaceObject,
  revisionToObject,
  serviceToObject,
  timestampMs,
  toNumber,
  workerPoolToObject,
} from './normalizer.js';
import type { IContainer, IExecution, IJob, IRevision, IService, IWorkerPool } from './normalizer.js';
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
    const digests = this.scope.digests;
    const state = await this.revisionDigests(s.latestCreatedRevision, s.template?.containers);
    // The template is the latest created revision's; use its digest only where the image matches.
    const obj = serviceToObject(this.scope.project, region, s, (reference, containerName) => {
      if (state?.kind === 'resolved') {
        const containers = state.containers.filter((c) => c.image === undefined || c.image === reference);
        return digests.imageOf(reference, containerName, { kind: 'resolved', containers });
      }
      return digests.imageOf(reference, containerName, state);
    });
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
