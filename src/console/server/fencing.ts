/**
 * Fencing at the reference console: which clusters a write touches and which leader epoch it
 * carries. The store remembers the newest epoch accepted per cluster (ConsoleStore.fence) and the
 * console refuses an older one with FAILED_PRECONDITION, so an agent replica that lost the lease
 * (paused, partitioned) cannot write after the new leader did. A write without an epoch (leader
 * election off) is not fenced.
 */
import type {
  DeregisterClustersRequest,
  FencedWrite,
  HeartbeatRequest,
  RegisterClustersRequest,
  ReportSightingsRequest,
  ResyncClusterRequest,
  WireLeaderEpoch,
} from '../wire-types.js';

export function epochOf(req: FencedWrite): WireLeaderEpoch | undefined {
  const e = req.leader_epoch;
  return e === null || e === undefined ? undefined : e;
}

export const clustersOf = {
  register: (r: RegisterClustersRequest): string[] => r.clusters.map((c) => c.id),
  sightings: (r: ReportSightingsRequest): string[] => {
    const ids = new Set<string>();
    for (const s of r.sightings) {
      if ('workload' in s && s.workload) ids.add(s.workload.cluster_id);
      else if ('namespace' in s && s.namespace) ids.add(s.namespace.cluster_id);
      else if ('node' in s && s.node) ids.add(s.node.cluster_id);
      else if ('deletion' in s && s.deletion) ids.add(s.deletion.cluster_id);
    }
    return [...ids];
  },
  heartbeat: (r: HeartbeatRequest): string[] => [...new Set(r.activities.map((a) => a.cluster_id))],
  deregister: (r: DeregisterClustersRequest, clustersOfAccount: (account: string) => string[]): string[] =>
    r.account !== '' ? clustersOfAccount(r.account) : r.cluster_ids,
  resync: (r: ResyncClusterRequest): string[] => [r.cluster_id],
};
