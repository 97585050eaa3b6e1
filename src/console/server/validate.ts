/**
 * Request validation for the reference console: every write needs a batch id and the identifying
 * fields of each item. Returns an error message (sent as INVALID_ARGUMENT) or undefined.
 */
import type {
  DeregisterClustersRequest,
  HeartbeatRequest,
  RegisterClustersRequest,
  ReportSightingsRequest,
} from '../wire-types.js';

export const MAX_BATCH_ID_CHARS = 256;
export const MAX_BATCH_ITEMS = 10_000;

function batchProblem(batchId: unknown, items: unknown): string | undefined {
  if (typeof batchId !== 'string' || batchId.length === 0) return 'batch_id is required';
  if (batchId.length > MAX_BATCH_ID_CHARS) return `batch_id longer than ${MAX_BATCH_ID_CHARS} characters`;
  if (!Array.isArray(items)) return 'items missing';
  if (items.length > MAX_BATCH_ITEMS) return `more than ${MAX_BATCH_ITEMS} items in one batch`;
  return undefined;
}

export function checkRegister(req: RegisterClustersRequest): string | undefined {
  const p = batchProblem(req.batch_id, req.clusters);
  if (p) return p;
  for (const [i, c] of req.clusters.entries()) {
    if (c.id === '') return `clusters[${i}].id is required`;
    if (c.provider === 'PROVIDER_UNSPECIFIED' || typeof c.provider !== 'string')
      return `clusters[${i}].provider is required`;
    if (c.name === '') return `clusters[${i}].name is required`;
  }
  return undefined;
}

export function checkSightings(req: ReportSightingsRequest): string | undefined {
  const p = batchProblem(req.batch_id, req.sightings);
  if (p) return p;
  for (const [i, s] of req.sightings.entries()) {
    if ('workload' in s && s.change === 'workload') {
      if (s.workload.cluster_id === '' || s.workload.uid === '')
        return `sightings[${i}].workload needs cluster_id and uid`;
    } else if ('namespace' in s && s.change === 'namespace') {
      if (s.namespace.cluster_id === '' || s.namespace.name === '')
        return `sightings[${i}].namespace needs cluster_id and name`;
    } else if ('node' in s && s.change === 'node') {
      if (s.node.cluster_id === '' || s.node.id === '') return `sightings[${i}].node needs cluster_id and id`;
    } else if ('deletion' in s && s.change === 'deletion') {
      const d = s.deletion;
      if (d.cluster_id === '' || d.id === '') return `sightings[${i}].deletion needs cluster_id and id`;
      if (d.type === 'OBJECT_TYPE_UNSPECIFIED' || typeof d.type !== 'string')
        return `sightings[${i}].deletion.type is required`;
    } else {
      return `sightings[${i}] sets no change`;
    }
  }
  return undefined;
}

export function checkHeartbeat(req: HeartbeatRequest): string | undefined {
  const p = batchProblem(req.batch_id, req.activities);
  if (p) return p;
  for (const [i, a] of req.activities.entries()) {
    if (a.cluster_id === '' || a.controller_name === '')
      return `activities[${i}] needs cluster_id and controller_name`;
  }
  return undefined;
}

export function checkDeregister(req: DeregisterClustersRequest): string | undefined {
  const p = batchProblem(req.batch_id, req.cluster_ids);
  if (p) return p;
  const hasIds = req.cluster_ids.length > 0;
  const hasAccount = req.account !== '';
  if (hasIds === hasAccount) return 'exactly one of cluster_ids or account is required';
  if (req.cluster_ids.some((id) => id === '')) return 'cluster_ids must not contain empty ids';
  return undefined;
}
