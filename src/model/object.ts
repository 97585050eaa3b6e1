/**
 * ClusterObject: the one type that flows from adapters through the watch engine to the console.
 * Each variant has a globally unique key (`objectKey`) and a content hash (`objectHash`) that ignores
 * nothing but key order, so "seen again" and "changed" can be told apart.
 */
import type { Cluster, Namespace, Node, Workload } from './cluster.js';
import { contentHash } from './hash.js';

export type ClusterObject = (
  | { kind: 'cluster'; cluster: Cluster }
  | { kind: 'namespace'; namespace: Namespace }
  | { kind: 'workload'; workload: Workload }
  | { kind: 'node'; node: Node }
) & {
  /**
   * The provider's monotonic order of this state (ECS `version`, an update time in ms), when it
   * has one: watch metadata, not content (`objectHash` ignores it). Kept on the object so that it
   * travels with it (into the state database's snapshots, back after a restart).
   */
  order?: number;
};

/**
 * The object's key, as one flat string: built by `join` (a template or `+` would give a V8 rope of
 * its pieces, which hashing and comparing flatten into a second copy while the rope stays behind
 * it). The watch engine keeps it as its store key for as long as it holds the object.
 */
export function objectKey(o: ClusterObject): string {
  switch (o.kind) {
    case 'cluster':
      return ['cluster/', o.cluster.id].join('');
    case 'namespace':
      return ['namespace/', o.namespace.clusterId, '/', o.namespace.name].join('');
    case 'workload':
      return ['workload/', o.workload.clusterId, '/', o.workload.uid].join('');
    case 'node':
      return ['node/', o.node.clusterId, '/', o.node.id].join('');
  }
}

export function objectHash(o: ClusterObject): string {
  return contentHash(o, 'order');
}

/** The object's provider order, when it has a finite one. */
export function objectOrder(o: ClusterObject): number | undefined {
  return typeof o.order === 'number' && Number.isFinite(o.order) ? o.order : undefined;
}
