/**
 * The cluster model shared by every provider: what a Cloud Run project×region or an ECS cluster looks
 * like to the console (docs/reference/console-model.md). Pure data; ids are stable across restarts.
 */
import type { Provider } from './provider.js';
import type { ContainerImage, Digest } from './image.js';
import { stableId } from './hash.js';
import { GenerationalTable } from './generational-table.js';

export interface Cluster {
  /** Stable id derived from provider + remoteId (see clusterId). */
  id: string;
  provider: Provider;
  /** The provider's own id: an ECS cluster ARN, or `projects/P/locations/R` for Cloud Run. */
  remoteId: string;
  name: string;
  region: string;
  /** AWS account id or GCP project id. */
  account: string;
  /** IAM group the cluster belongs to in the console (from config). */
  group: string;
  /** Identity issuer (from config). */
  issuer: string;
  /** Platform version, e.g. Fargate platform version or Cloud Run API version. */
  platformVersion?: string;
  /** Version of sightline watching it. */
  agentVersion: string;
  labels: Record<string, string>;
  /** Provider metadata the console may show (capacity providers, status, ...). */
  metadata: Record<string, string>;
}

/**
 * Recently computed cluster ids: every task and every polled ARN needs its cluster's id. Bounded
 * (at most 10,000 entries); ids in use stay, others age out.
 */
const clusterIds = new GenerationalTable<string>(5_000);

export function clusterId(provider: Provider, remoteId: string): string {
  const memoKey = `${provider}\u0000${remoteId}`;
  let id = clusterIds.get(memoKey);
  if (id === undefined) {
    id = stableId('cluster', provider, remoteId);
    clusterIds.set(memoKey, id);
  }
  return id;
}

/** The watcher's activity on a cluster (console `activity` map entry). */
export interface AgentActivity {
  clusterId: string;
  /** e.g. `sightline-ecs-tasks`, `sightline-cloudrun-audit`. */
  controllerName: string;
  profile: 'observer';
  lastSeenMs: number;
}

export interface Namespace {
  clusterId: string;
  name: string;
  labels: Record<string, string>;
  /** Whether the namespace is labelled for enforcement (label `policy.sigstore.dev/include=true`). */
  enforcement: boolean;
}

export const ENFORCEMENT_LABEL = 'policy.sigstore.dev/include';

export function enforcementFromLabels(labels: Record<string, string>): boolean {
  return labels[ENFORCEMENT_LABEL] === 'true';
}

/** Kubernetes analogues the console understands. */
export type KubernetesKind = 'Deployment' | 'ReplicaSet' | 'Pod' | 'Job';

export const kubernetesGroupVersionKind: Record<KubernetesKind, string> = {
  Deployment: 'apps/v1/Deployment',
  ReplicaSet: 'apps/v1/ReplicaSet',
  Pod: 'v1/Pod',
  Job: 'batch/v1/Job',
};

export interface OwnerRef {
  kind: KubernetesKind;
  name: string;
  uid: string;
}

export interface WorkloadContainer {
  name: string;
  image: ContainerImage;
}

export interface Workload {
  clusterId: string;
  /** Stable, provider-derived uid (an ARN, a Cloud Run uid, or a stableId of the resource name). */
  uid: string;
  kind: KubernetesKind;
  /** Provider-native kind, e.g. `run.googleapis.com/Service`, `ecs.amazonaws.com/Task`. */
  nativeKind: string;
  namespace: string;
  name: string;
  /** Owner chain nearest first (a Revision's owner is its Service). */
  owners: OwnerRef[];
  labels: Record<string, string>;
  containers: WorkloadContainer[];
  /** Node the workload runs on, when the provider exposes one (ECS EC2 container instance). */
  nodeId?: string;
  /** Provider status in one word (RUNNING, STOPPED, Ready, ...). */
  status?: string;
}

export interface Node {
  clusterId: string;
  /** Provider id of the node (container instance ARN). */
  id: string;
  name: string;
  metadata: Record<string, string>;
}

/** One image seen in one workload of one cluster. */
export interface Sighting {
  clusterId: string;
  workloadUid: string;
  image: ContainerImage;
  digest?: Digest;
  firstSeenMs: number;
  lastSeenMs: number;
}
