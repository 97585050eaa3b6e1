/**
 * Request validation for ResyncCluster in the reference console: a batch id, a cluster id, a
 * positive generation, 0 <= part < parts, and typed, non-empty object ids. Returns an error message
 * (sent as INVALID_ARGUMENT) or undefined.
 */
import type { ResyncClusterRequest } from '../wire-types.js';
import { MAX_BATCH_ID_CHARS, MAX_BATCH_ITEMS, MAX_ID_CHARS } from './validate.js';

/** Parts above this are refused: with MAX_BATCH_ITEMS ids each, far beyond any cluster. */
const MAX_RESYNC_PARTS = 10_000;

export function checkResync(req: ResyncClusterRequest): string | undefined {
  if (typeof req.batch_id !== 'string' || req.batch_id.length === 0) return 'batch_id is required';
  if (req.batch_id.length > MAX_BATCH_ID_CHARS)
    return `batch_id longer than ${MAX_BATCH_ID_CHARS} characters`;
  if (req.cluster_id === '') return 'cluster_id is required';
  if (req.cluster_id.length > MAX_ID_CHARS) return `cluster_id longer than ${MAX_ID_CHARS} characters`;
  if (!Number.isSafeInteger(req.generation) || req.generation <= 0)
    return 'generation must be a positive integer';
  if (req.parts < 1 || req.parts > MAX_RESYNC_PARTS) return `parts must be between 1 and ${MAX_RESYNC_PARTS}`;
  if (req.part >= req.parts) return `part ${req.part} is not below parts ${req.parts}`;
  if (!Array.isArray(req.live)) return 'live missing';
  if (req.live.length > MAX_BATCH_ITEMS) return `more than ${MAX_BATCH_ITEMS} objects in one part`;
  for (const [i, o] of req.live.entries()) {
    if (o.type === 'OBJECT_TYPE_UNSPECIFIED') return `live[${i}].type is required`;
    if (o.id === '') return `live[${i}].id is required`;
    if (o.id.length > MAX_ID_CHARS) return `live[${i}].id longer than ${MAX_ID_CHARS} characters`;
  }
  return undefined;
}
