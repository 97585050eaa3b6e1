/**
 * Cloud Run v2 resources -> model ClusterObjects. One Cluster per project×region
 * (remoteId `projects/P/locations/R`), one Namespace (the project) per cluster. Workloads:
 * Service -> Deployment, Revision -> ReplicaSet (owner: its Service), Job -> Job,
 * Execution -> Pod (owner: its Job), WorkerPool -> Deployment. Labels are kept as they are.
 * Workload uids are stableId('cloudrun', full v2 name), so an audit entry's labels give the key
 * without a fetch. Pure functions; images are resolved by the caller (`ImageResolver`).
 *
 * Running means serving: a service's current images are those of the revisions that serve its
 * traffic (`serviceImageSource`), not its template's; after a failed rollout (the latest created
 * revision failed, traffic stayed on the old one) the failed revision is not a serving revision, so
 * it is not listed as a workload (a record of it becomes not current), and the service keeps showing
 * the images that still serve.
 */
import type { protos } from '@google-cloud/run';
import type {
  ClusterObject,
  ContainerImage,
  KubernetesKind,
  OwnerRef,
  Workload,
  WorkloadContainer,
} from '../../src/model/index.js';
import { clusterId, objectKey, stableId } from '../../src/model/index.js';
import { locationName, shortName } from './names.js';

export type IService = protos.google.cloud.run.v2.IService;
export type IRevision = protos.google.cloud.run.v2.IRevision;
export type IJob = protos.google.cloud.run.v2.IJob;
export type IExecution = protos.google.cloud.run.v2.IExecution;
export type IWorkerPool = protos.google.cloud.run.v2.IWorkerPool;
export type IContainer = protos.google.cloud.run.v2.IContainer;
type ICondition = protos.google.cloud.run.v2.ICondition;
type ITimestamp = protos.google.protobuf.ITimestamp;

const CLOUD_RUN_PLATFORM_VERSION = 'run.googleapis.com/v2';
/** Executions that completed within this window still count as "recent" (listed as Pods). */
const RECENT_EXECUTION_WINDOW_MS = 60 * 60 * 1000;

export interface ClusterContext {
  tenant: { group: string; issuer: string };
  agentVersion: string;
}

export type ImageResolver = (reference: string, containerName: string) => ContainerImage;

export function cloudRunClusterId(project: string, region: string): string {
  return clusterId('CLOUD_RUN', locationName(project, region));
}

export function workloadUid(fullName: string): string {
  return stableId('cloudrun', fullName);
}

export function workloadKey(project: string, region: string, fullName: string): string {
  return `workload/${cloudRunClusterId(project, region)}/${workloadUid(fullName)}`;
}

export function clusterObject(project: string, region: string, ctx: ClusterContext): ClusterObject {
  return {
    kind: 'cluster',
    cluster: {
      id: cloudRunClusterId(project, region),
      provider: 'CLOUD_RUN',
      remoteId: locationName(project, region),
      name: `${project}/${region}`,
      region,
      account: project,
      group: ctx.tenant.group,
      issuer: ctx.tenant.issuer,
      platformVersion: CLOUD_RUN_PLATFORM_VERSION,
      agentVersion: ctx.agentVersion,
      labels: {},
      metadata: { project, region },
    },
  };
}

export function namespaceObject(project: string, region: string): ClusterObject {
  return {
    kind: 'namespace',
    namespace: {
      clusterId: cloudRunClusterId(project, region),
      name: project,
      labels: {},
      enforcement: false,
    },
  };
}

export function clusterKey(project: string, region: string): string {
  return objectKey(clusterObject(project, region, { tenant: { group: '', issuer: '' }, agentVersion: '' }));
}

export function namespaceKey(project: string, region: string): string {
  return objectKey(namespaceObject(project, region));
}

export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  if (v !== null && typeof v === 'object' && 'toString' in v) {
    const n = Number(String(v));
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function timestampMs(t: ITimestamp | null | undefined): number | undefined {
  if (!t) return undefined;
  const s = toNumber(t.seconds);
  if (s === undefined) return undefined;
  return s * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** The provider times a Cloud Run v2 object can show (all in the past when it is read). */
export interface ProviderTimes {
  createTime?: ITimestamp | null;
  updateTime?: ITimestamp | null;
  deleteTime?: ITimestamp | null;
  startTime?: ITimestamp | null;
  completionTime?: ITimestamp | null;
  conditions?: ICondition[] | null;
  terminalCondition?: ICondition | null;
}

/**
 * The newest provider time an object shows (creation, update, deletion, start, completion, a
 * condition's transition), or undefined when it shows none. `expireTime` is left out: it lies ahead.
 */
export function newestProviderTimeMs(o: ProviderTimes): number | undefined {
  let newest: number | undefined;
  const see = (t: ITimestamp | null | undefined): void => {
    const ms = timestampMs(t);
    if (ms !== undefined && (newest === undefined || ms > newest)) newest = ms;
  };
  see(o.createTime);
  see(o.updateTime);
  see(o.deleteTime);
  see(o.startTime);
  see(o.completionTime);
  for (const c of o.conditions ?? []) see(c.lastTransitionTime);
  see(o.terminalCondition?.lastTransitionTime);
  return newest;
}

function labelsOf(l: Record<string, string> | null | undefined): Record<string, string> {
  return { ...(l ?? {}) };
}

/** A container list as a workload's containers (a nameless container is `container-<i>`). */
export function containersOf(
  list: IContainer[] | null | undefined,
  resolve: ImageResolver,
): WorkloadContainer[] {
  return (list ?? []).map((c, i) => {
    const name = c.name ?? '';
    return { name: name || `container-${i}`, image: resolve(c.image ?? '', name) };
  });
}

function conditionState(c: ICondition | null | undefined): string | undefined {
  const s = c?.state;
  if (s === undefined || s === null) return undefined;
  const text = String(s);
  if (text === 'CONDITION_SUCCEEDED') return 'Ready';
  if (text === 'CONDITION_FAILED') return 'Failed';
  if (text === 'CONDITION_RECONCILING') return 'Reconciling';
  if (text === 'CONDITION_PENDING') return 'Pending';
  return undefined;
}

function readyOf(conditions: ICondition[] | null | undefined): string | undefined {
  return conditionState((conditions ?? []).find((c) => c.type === 'Ready'));
}

function workload(
  project: string,
  region: string,
  fullName: string,
  kind: KubernetesKind,
  nativeKind: string,
  labels: Record<string, string> | null | undefined,
  containers: WorkloadContainer[],
  owners: OwnerRef[],
  status: string | undefined,
): ClusterObject {
  const w: Workload = {
    clusterId: cloudRunClusterId(project, region),
    uid: workloadUid(fullName),
    kind,
    nativeKind,
    namespace: project,
    name: shortName(fullName),
    owners,
    labels: labelsOf(labels),
    containers,
  };
  if (status !== undefined) w.status = status;
  return { kind: 'workload', workload: w };
}

/**
 * A service as a Deployment. Its containers are `serving` when given (the containers of the
 * revisions that serve it, see `serviceImageSource`), else its template's, resolved by `resolve`.
 */
export function serviceToObject(
  project: string,
  region: string,
  s: IService,
  resolve: ImageResolver,
  serving?: WorkloadContainer[],
): ClusterObject {
  const name = s.name ?? '';
  const status = s.reconciling ? 'Reconciling' : (conditionState(s.terminalCondition) ?? 'Pending');
  return workload(
    project,
    region,
    name,
    'Deployment',
    'run.googleapis.com/Service',
    s.labels,
    serving ?? containersOf(s.template?.containers, resolve),
    [],
    status,
  );
}

export function revisionToObject(
  project: string,
  region: string,
  r: IRevision,
  resolve: ImageResolver,
): ClusterObject {
  const name = r.name ?? '';
  const serviceFull = name.replace(/\/revisions\/[^/]+$/, '');
  const owner: OwnerRef = { kind: 'Deployment', name: shortName(serviceFull), uid: workloadUid(serviceFull) };
  return workload(
    project,
    region,
    name,
    'ReplicaSet',
    'run.googleapis.com/Revision',
    r.labels,
    containersOf(r.containers, resolve),
    [owner],
    readyOf(r.conditions) ?? 'Pending',
  );
}

export function jobToObject(project: string, region: string, j: IJob, resolve: ImageResolver): ClusterObject {
  return workload(
    project,
    region,
    j.name ?? '',
    'Job',
    'run.googleapis.com/Job',
    j.labels,
    containersOf(j.template?.template?.containers, resolve),
    [],
    readyOf(j.conditions) ?? conditionState(j.terminalCondition),
  );
}

function executionStatus(e: IExecution): string {
  if ((e.runningCount ?? 0) > 0 || !e.completionTime) return 'RUNNING';
  if ((e.cancelledCount ?? 0) > 0) return 'CANCELLED';
  if ((e.failedCount ?? 0) > 0) return 'FAILED';
  return 'SUCCEEDED';
}

/** Running, or completed within RECENT_EXECUTION_WINDOW_MS of `nowMs`. */
export function isCurrentExecution(e: IExecution, nowMs: number): boolean {
  const done = timestampMs(e.completionTime);
  return done === undefined || nowMs - done <= RECENT_EXECUTION_WINDOW_MS;
}

export function executionToObject(
  project: string,
  region: string,
  e: IExecution,
  resolve: ImageResolver,
): ClusterObject {
  const name = e.name ?? '';
  const jobFull = name.replace(/\/executions\/[^/]+$/, '');
  const owner: OwnerRef = { kind: 'Job', name: shortName(jobFull), uid: workloadUid(jobFull) };
  return workload(
    project,
    region,
    name,
    'Pod',
    'run.googleapis.com/Execution',
    e.labels,
    containersOf(e.template?.containers, resolve),
    [owner],
    executionStatus(e),
  );
}

export function workerPoolToObject(
  project: string,
  region: string,
  w: IWorkerPool,
  resolve: ImageResolver,
): ClusterObject {
  const status = w.reconciling ? 'Reconciling' : (conditionState(w.terminalCondition) ?? 'Pending');
  return workload(
    project,
    region,
    w.name ?? '',
    'Deployment',
    'run.googleapis.com/WorkerPool',
    w.labels,
    containersOf(w.template?.containers, resolve),
    [],
    status,
  );
}

/**
 * The short name of the service's latest created revision when its rollout failed: it is not the
 * latest ready one, the service is done reconciling, and its Ready condition failed (traffic stays
 * where it was). Undefined while a rollout is in progress or when the latest created revision is ready.
 */
export function failedLatestRevision(s: IService): string | undefined {
  const latest = s.latestCreatedRevision;
  if (!latest || latest === s.latestReadyRevision || s.reconciling) return undefined;
  return conditionState(s.terminalCondition) === 'Failed' ? shortName(latest) : undefined;
}

/** Short names of the revisions that serve the service's traffic (percent > 0, or tagged), largest share first. */
export function trafficRevisions(s: IService): string[] {
  const out: string[] = [];
  // The largest share first (a stable sort keeps the API's order among equals); tags after.
  const byShare = [...(s.trafficStatuses ?? [])].sort((a, b) => (b.percent ?? 0) - (a.percent ?? 0));
  for (const t of byShare) {
    if (!((t.percent ?? 0) > 0 || (t.tag ?? '') !== '')) continue;
    // A LATEST target's status normally names its revision; without one, it is the latest ready.
    const latest = String(t.type) === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' && s.latestReadyRevision;
    const revision = t.revision || (latest ? shortName(latest) : '');
    if (revision !== '' && !out.includes(revision)) out.push(revision);
  }
  return out;
}

/**
 * Short names of the revisions listed as the service's ReplicaSets: those that serve traffic, plus
 * the latest created one unless its rollout failed (a rollout in progress shows its new revision; a
 * failed one is not running).
 */
export function servingRevisions(s: IService): Set<string> {
  const out = new Set(trafficRevisions(s));
  if (s.latestCreatedRevision && failedLatestRevision(s) === undefined)
    out.add(shortName(s.latestCreatedRevision));
  return out;
}

/**
 * Where a service's current images come from:
 * - `template`: its template (the latest created revision's), when that revision is the only one
 *   serving, or when no revision serves yet and the first rollout is still in progress;
 * - `revisions`: the containers of these serving revisions (short names, largest share first), when
 *   traffic is on other revisions (a rollout in progress or failed, a traffic split);
 * - `none`: nothing serves and the rollout failed: the service runs no image.
 */
export type ServiceImageSource =
  { kind: 'template' } | { kind: 'revisions'; revisions: string[] } | { kind: 'none' };

export function serviceImageSource(s: IService): ServiceImageSource {
  const serving = trafficRevisions(s);
  const latest = s.latestCreatedRevision ? shortName(s.latestCreatedRevision) : undefined;
  if (serving.length === 0)
    return failedLatestRevision(s) !== undefined ? { kind: 'none' } : { kind: 'template' };
  if (serving.length === 1 && serving[0] === latest) return { kind: 'template' };
  return { kind: 'revisions', revisions: serving };
}
