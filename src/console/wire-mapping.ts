/**
 * Maps the cluster model (src/model) to agent.proto messages. Pure functions; absent optional model
 * fields become the proto3 defaults (empty string), never `undefined`.
 */
import type { Cluster, ContainerImage, Namespace, Node, Workload } from '../model/index.js';
import { kubernetesGroupVersionKind } from '../model/index.js';
import type {
  ClusterRegistration,
  GroupVersionKind,
  NamespaceSighting,
  NodeSighting,
  WireImage,
  WireProvider,
  WorkloadSighting,
} from './wire-types.js';

function toWireProvider(p: Cluster['provider']): WireProvider {
  return p;
}

export function toRegistration(c: Cluster, observedMs: number): ClusterRegistration {
  return {
    id: c.id,
    provider: toWireProvider(c.provider),
    remote_id: c.remoteId,
    name: c.name,
    region: c.region,
    account: c.account,
    issuer: c.issuer,
    platform_version: c.platformVersion ?? '',
    agent_version: c.agentVersion,
    group: c.group,
    profiles: ['observer'],
    labels: { ...c.labels },
    metadata: { ...c.metadata },
    observed_ms: observedMs,
  };
}

/** `apps/v1/Deployment` → {group: apps, version: v1, kind: Deployment}; `v1/Pod` → core group. */
function parseGvk(gvk: string): GroupVersionKind {
  const parts = gvk.split('/');
  if (parts.length >= 3)
    return { group: parts[0] ?? '', version: parts[1] ?? '', kind: parts.slice(2).join('/') };
  if (parts.length === 2) return { group: '', version: parts[0] ?? '', kind: parts[1] ?? '' };
  return { group: '', version: '', kind: gvk };
}

export function formatGvk(g: GroupVersionKind): string {
  return [g.group, g.version, g.kind].filter((s) => s !== '').join('/');
}

function toWireImage(img: ContainerImage): WireImage {
  return {
    ref: img.reference,
    registry: img.registry,
    repository: img.repository,
    tag: img.tag ?? '',
    digest: img.digest ?? '',
    unresolved_reason: img.digest === undefined ? (img.unresolved?.reason ?? 'not-reported-by-provider') : '',
    unresolved_detail: img.digest === undefined ? (img.unresolved?.detail ?? '') : '',
  };
}

/** The identity of an image within a workload for first/last-seen tracking. */
export function imageSeenKey(containerName: string, img: ContainerImage): string {
  return `${containerName}\u0000${img.digest ?? img.reference}`;
}

interface SeenWindow {
  firstSeenMs: number;
  lastSeenMs: number;
}

export function toWorkloadSighting(
  w: Workload,
  workloadSeen: SeenWindow,
  imageSeen: (containerName: string, img: ContainerImage) => SeenWindow,
): WorkloadSighting {
  return {
    cluster_id: w.clusterId,
    uid: w.uid,
    kind: parseGvk(kubernetesGroupVersionKind[w.kind]),
    native_kind: w.nativeKind,
    namespace: w.namespace,
    name: w.name,
    owners: w.owners.map((o) => ({ kind: o.kind, name: o.name, uid: o.uid })),
    labels: { ...w.labels },
    containers: w.containers.map((c) => {
      const seen = imageSeen(c.name, c.image);
      return {
        name: c.name,
        image: toWireImage(c.image),
        first_seen_ms: seen.firstSeenMs,
        last_seen_ms: seen.lastSeenMs,
      };
    }),
    node_id: w.nodeId ?? '',
    status: w.status ?? '',
    first_seen_ms: workloadSeen.firstSeenMs,
    last_seen_ms: workloadSeen.lastSeenMs,
  };
}

export function toNamespaceSighting(n: Namespace, seen: SeenWindow): NamespaceSighting {
  return {
    cluster_id: n.clusterId,
    name: n.name,
    labels: { ...n.labels },
    enforcement: n.enforcement,
    first_seen_ms: seen.firstSeenMs,
    last_seen_ms: seen.lastSeenMs,
  };
}

export function toNodeSighting(n: Node, seen: SeenWindow): NodeSighting {
  return {
    cluster_id: n.clusterId,
    id: n.id,
    name: n.name,
    metadata: { ...n.metadata },
    first_seen_ms: seen.firstSeenMs,
    last_seen_ms: seen.lastSeenMs,
  };
}
