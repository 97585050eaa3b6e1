/**
 * ECS resources -> the cluster model (docs/reference/console-model.md), as documented in README.md:
 *   ECS cluster -> Cluster (+ one Namespace named after the cluster, labels = cluster tags)
 *   Service -> Deployment; its deployments / task sets -> ReplicaSet (owner: the Service)
 *   Task -> Pod (owners: ReplicaSet of `startedBy` deployment, then the Service from `group`)
 *   Container instance -> Node
 * Only fields that change through an observable event are kept (no running counts), so hashes move
 * only on real changes. Images: the reference comes from the container (or, when the agent shows a
 * digest in place of the tag, from the task definition); the digest from `imageDigest`; a missing
 * digest is reported as unresolved with a reason, never invented.
 *
 * Pure functions; each object carries its monotonic provider version or update time in `order`.
 */
import { LruMap } from '../../src/runtime/lru-map.js';
import type {
  Cluster as EcsCluster,
  ContainerInstance,
  Deployment,
  Service,
  Task,
  TaskSet,
} from '@aws-sdk/client-ecs';
import {
  clusterId,
  enforcementFromLabels,
  parseImageReference,
  toContainerImage,
} from '../../src/model/index.js';
import type {
  ClusterObject,
  ContainerImage,
  OwnerRef,
  UnresolvedReason,
  WorkloadContainer,
} from '../../src/model/index.js';
import type { TaskDefinitionInfo } from './task-definitions.js';
import { awsClusterObjects } from '../aws/cluster-objects.js';
import type { AwsNormalizeContext } from '../aws/cluster-objects.js';

export type NormalizeContext = AwsNormalizeContext;

/** Sets the provider order of an object built here (services, deployments, nodes: few objects). */
function withOrder(o: ClusterObject, order: number | undefined): ClusterObject {
  if (order !== undefined && Number.isFinite(order)) o.order = order;
  return o;
}

function tagsToLabels(
  tags: Array<{ key?: string | undefined; value?: string | undefined }> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (typeof t.key === 'string') out[t.key] = t.value ?? '';
  return out;
}

/** Last path segment of an ARN (`.../service/c/name` -> `name`). */
function arnName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** `arn:aws:ecs:r:a:cluster/NAME` -> NAME; tolerates a bare name. */
export function clusterNameOf(clusterArn: string): string {
  return clusterArn.includes(':cluster/')
    ? clusterArn.slice(clusterArn.indexOf(':cluster/') + 9)
    : clusterArn;
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function ecsArn(region: string, account: string, resource: string): string {
  return `arn:${partitionOf(region)}:ecs:${region}:${account}:${resource}`;
}

export function normalizeCluster(ctx: NormalizeContext, c: EcsCluster): ClusterObject[] {
  const arn = c.clusterArn ?? '';
  const name = c.clusterName ?? clusterNameOf(arn);
  const id = clusterId('ECS', arn);
  const labels = tagsToLabels(c.tags);
  const metadata: Record<string, string> = { status: c.status ?? 'UNKNOWN' };
  if (c.capacityProviders && c.capacityProviders.length > 0)
    metadata['capacityProviders'] = c.capacityProviders.join(',');
  const strategy = (c.defaultCapacityProviderStrategy ?? [])
    .map((s) => `${s.capacityProvider ?? ''}:${s.weight ?? 0}:${s.base ?? 0}`)
    .join(',');
  if (strategy) metadata['defaultCapacityProviderStrategy'] = strategy;
  for (const s of c.settings ?? [])
    if (s.name && s.value !== undefined) metadata[`setting.${s.name}`] = s.value;
  if (c.serviceConnectDefaults?.namespace)
    metadata['serviceConnectNamespace'] = c.serviceConnectDefaults.namespace;
  return awsClusterObjects(ctx, {
    id,
    provider: 'ECS',
    remoteId: arn,
    name,
    labels,
    metadata,
    namespace: { name, labels, enforcement: enforcementFromLabels(labels) },
  });
}

/** Images declared by a task definition (a spec: the digest is known per task, not per service). */
function specContainers(
  td: TaskDefinitionInfo | undefined,
  taskDefinitionArn: string | undefined,
): WorkloadContainer[] {
  if (!td) return [];
  return td.containers.map((c) => ({
    name: c.name,
    image: toContainerImage(
      c.image,
      undefined,
      'not-reported-by-provider',
      `spec of ${taskDefinitionArn ?? td.arn}`,
    ),
  }));
}

function ms(d: Date | undefined): number | undefined {
  return d instanceof Date && !Number.isNaN(d.getTime()) ? d.getTime() : undefined;
}

export function replicaSetUid(serviceArn: string, deploymentId: string): string {
  return `${serviceArn}#${deploymentId}`;
}

export function normalizeService(
  ctx: NormalizeContext,
  s: Service,
  taskDefs: ReadonlyMap<string, TaskDefinitionInfo>,
): ClusterObject[] {
  const serviceArn = s.serviceArn ?? '';
  const clusterArn = s.clusterArn ?? '';
  const cid = clusterId('ECS', clusterArn);
  const namespace = clusterNameOf(clusterArn);
  const name = s.serviceName ?? arnName(serviceArn);
  const owner: OwnerRef = { kind: 'Deployment', name, uid: serviceArn };
  const deployments: Deployment[] = s.deployments ?? [];
  const updated = deployments.map((d) => ms(d.updatedAt)).filter((x): x is number => x !== undefined);
  const serviceOrder = updated.length > 0 ? Math.max(...updated) : undefined;
  const out: ClusterObject[] = [];
  const svc: ClusterObject = {
    kind: 'workload',
    workload: {
      clusterId: cid,
      uid: serviceArn,
      kind: 'Deployment',
      nativeKind: 'ecs.amazonaws.com/Service',
      namespace,
      name,
      owners: [],
      labels: tagsToLabels(s.tags),
      containers: specContainers(taskDefs.get(s.taskDefinition ?? ''), s.taskDefinition),
      status: s.status ?? 'UNKNOWN',
    },
  };
  out.push(withOrder(svc, serviceOrder));
  for (const d of deployments) {
    if (!d.id) continue;
    const rs: ClusterObject = {
      kind: 'workload',
      workload: {
        clusterId: cid,
        uid: replicaSetUid(serviceArn, d.id),
        kind: 'ReplicaSet',
        nativeKind: 'ecs.amazonaws.com/Deployment',
        namespace,
        name: `${name}-${arnName(d.id)}`,
        owners: [owner],
        labels: {},
        containers: specContainers(taskDefs.get(d.taskDefinition ?? ''), d.taskDefinition),
        status: d.status ?? 'UNKNOWN',
      },
    };
    out.push(withOrder(rs, ms(d.updatedAt)));
  }
  for (const ts of s.taskSets ?? ([] as TaskSet[])) {
    if (!ts.taskSetArn) continue;
    const rs: ClusterObject = {
      kind: 'workload',
      workload: {
        clusterId: cid,
        uid: ts.taskSetArn,
        kind: 'ReplicaSet',
        nativeKind: 'ecs.amazonaws.com/TaskSet',
        namespace,
        name: `${name}-${ts.id ?? arnName(ts.taskSetArn)}`,
        owners: [owner],
        labels: tagsToLabels(ts.tags),
        containers: specContainers(taskDefs.get(ts.taskDefinition ?? ''), ts.taskDefinition),
        status: ts.status ?? 'UNKNOWN',
      },
    };
    out.push(withOrder(rs, ms(ts.updatedAt)));
  }
  return out;
}

export interface UnresolvedSighting {
  taskArn: string;
  container: string;
  reason: UnresolvedReason;
}

/** True when the reference carries no tag (only a digest, e.g. `repo@sha256:...`). */
function showsOnlyDigest(image: string): boolean {
  const p = parseImageReference(image);
  return p.ok && p.value.digest !== undefined && p.value.tag === undefined;
}

function taskImage(
  container: { name?: string | undefined; image?: string | undefined; imageDigest?: string | undefined },
  td: TaskDefinitionInfo | undefined,
  lastStatus: string | undefined,
): ContainerImage {
  const reported = container.image ?? '';
  const declared = td?.containers.find((c) => c.name === container.name)?.image;
  // Agent >= 1.83 may show the digest in place of the tag: take the reference from the task definition.
  let reference = reported;
  if ((reported === '' || showsOnlyDigest(reported)) && declared !== undefined) reference = declared;
  if (reference === '') reference = declared ?? '';
  const pinned = reported.includes('@') ? reported.slice(reported.indexOf('@') + 1) : undefined;
  const digest = container.imageDigest ?? pinned;
  const pending = lastStatus === 'PROVISIONING' || lastStatus === 'PENDING' || lastStatus === 'ACTIVATING';
  const reason: UnresolvedReason = pending ? 'pending-start' : 'not-reported-by-provider';
  return toContainerImage(
    reference,
    digest,
    reason,
    pending ? `task is ${lastStatus ?? ''}` : 'imageDigest missing in DescribeTasks',
  );
}

/**
 * A task's owners, nearest first: the ReplicaSet of the `startedBy` deployment, then the Service
 * from `group`. Built as array literals: a pushed-to array keeps room for 17 elements, and the
 * watcher holds one of these per task.
 */
function taskOwners(
  ctx: NormalizeContext,
  namespace: string,
  group: string,
  startedBy: string | undefined,
): OwnerRef[] {
  if (!group.startsWith('service:')) return [];
  // The tasks of one deployment share one owners list (never modified, like every normalized
  // object): built once, and the engine's sharing recognises it without looking inside.
  const memoKey = `${ctx.region}\u0000${ctx.account}\u0000${namespace}\u0000${group}\u0000${startedBy ?? ''}`;
  let owners = ownersMemo.get(memoKey);
  if (owners === undefined) {
    owners = buildTaskOwners(ctx, namespace, group, startedBy);
    ownersMemo.set(memoKey, owners);
  }
  return owners;
}

/** Owners lists of recent deployments (bounded: deployments come and go). */
const ownersMemo = new LruMap<string, OwnerRef[]>(10_000);

function buildTaskOwners(
  ctx: NormalizeContext,
  namespace: string,
  group: string,
  startedBy: string | undefined,
): OwnerRef[] {
  const serviceName = group.slice('service:'.length);
  const serviceArn = ecsArn(ctx.region, ctx.account, `service/${namespace}/${serviceName}`);
  const deployment: OwnerRef = { kind: 'Deployment', name: serviceName, uid: serviceArn };
  if (!startedBy?.startsWith('ecs-svc/')) return [deployment];
  const replicaSet: OwnerRef = {
    kind: 'ReplicaSet',
    name: `${serviceName}-${arnName(startedBy)}`,
    uid: replicaSetUid(serviceArn, startedBy),
  };
  return [replicaSet, deployment];
}

export function normalizeTask(
  ctx: NormalizeContext,
  t: Task,
  td: TaskDefinitionInfo | undefined,
  onUnresolved?: (s: UnresolvedSighting) => void,
): ClusterObject {
  const taskArn = t.taskArn ?? '';
  const clusterArn = t.clusterArn ?? '';
  const cid = clusterId('ECS', clusterArn);
  const namespace = clusterNameOf(clusterArn);
  const owners = taskOwners(ctx, namespace, t.group ?? '', t.startedBy);
  const containers: WorkloadContainer[] = (t.containers ?? []).map((c) => {
    const image = taskImage(c, td, t.lastStatus);
    if (image.unresolved && onUnresolved) {
      onUnresolved({ taskArn, container: c.name ?? '', reason: image.unresolved.reason });
    }
    return { name: c.name ?? '', image };
  });
  const pod: ClusterObject = {
    kind: 'workload',
    workload: {
      clusterId: cid,
      uid: taskArn,
      kind: 'Pod',
      nativeKind: 'ecs.amazonaws.com/Task',
      namespace,
      name: arnName(taskArn),
      owners,
      labels: tagsToLabels(t.tags),
      containers,
      ...(t.containerInstanceArn ? { nodeId: t.containerInstanceArn } : {}),
      status: t.lastStatus ?? 'UNKNOWN',
    },
    // In the literal (not added later): one task object without a separate property array.
    order: t.version !== undefined && Number.isFinite(t.version) ? t.version : undefined,
  };
  return pod;
}

export function normalizeContainerInstance(clusterArn: string, ci: ContainerInstance): ClusterObject {
  const arn = ci.containerInstanceArn ?? '';
  const attr = (name: string): string | undefined => ci.attributes?.find((a) => a.name === name)?.value;
  const metadata: Record<string, string> = {};
  const put = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') metadata[k] = v;
  };
  put('ec2InstanceId', ci.ec2InstanceId);
  put('instanceType', attr('ecs.instance-type'));
  put('amiId', attr('ecs.ami-id'));
  put('availabilityZone', attr('ecs.availability-zone'));
  put('osType', attr('ecs.os-type'));
  put('agentVersion', ci.versionInfo?.agentVersion);
  put('dockerVersion', ci.versionInfo?.dockerVersion);
  put('status', ci.status);
  put('capacityProvider', ci.capacityProviderName);
  const node: ClusterObject = {
    kind: 'node',
    node: {
      clusterId: clusterId('ECS', clusterArn),
      id: arn,
      name: ci.ec2InstanceId ?? arnName(arn),
      metadata,
    },
  };
  return withOrder(node, ci.version);
}
