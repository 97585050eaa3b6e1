/**
 * Request validation for the reference console: every write needs a batch id and the identifying
 * fields of each item, and every field has a size limit (identifiers MAX_ID_CHARS, other text
 * MAX_TEXT_CHARS, maps MAX_MAP_ENTRIES, lists inside an item MAX_LIST_ITEMS), so a request within
 * the message size cap still cannot store a multi-megabyte cluster id. Returns an error message
 * naming the field (sent as INVALID_ARGUMENT) or undefined; never quotes the oversized value.
 */
import type {
  DeregisterClustersRequest,
  HeartbeatRequest,
  RegisterClustersRequest,
  ReportSightingsRequest,
} from '../wire-types.js';

export const MAX_BATCH_ID_CHARS = 256;
export const MAX_BATCH_ITEMS = 10_000;
/** Identifiers and names: cluster ids, uids, names, namespaces, ARNs (AWS ARNs are at most 2048 bytes; ids here are ≤ 1 KiB). */
export const MAX_ID_CHARS = 1024;
/** Any other text: image references (≤ 4 KiB by the OCI distribution spec), label values, details. */
export const MAX_TEXT_CHARS = 16 * 1024;
/** Entries of one labels / metadata map. */
export const MAX_MAP_ENTRIES = 1024;
/** Entries of a list inside one item (containers, owners, profiles). */
export const MAX_LIST_ITEMS = 1024;

const ID_FIELDS = new Set([
  'id',
  'uid',
  'name',
  'cluster_id',
  'node_id',
  'namespace',
  'controller_name',
  'account',
  'region',
  'remote_id',
  'group',
  'profile',
  'kind',
  'version',
  'native_kind',
]);
const MAP_FIELDS = new Set(['labels', 'metadata']);

interface Oversized {
  /** Field names and indexes from the item down to the oversized field (built only on failure). */
  path: Array<string | number>;
  problem: string;
}

function formatFieldPath(base: string, path: Array<string | number>): string {
  let out = base;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : p.startsWith('[') ? p : `.${p}`;
  return out;
}

/**
 * The first field of `value` over its size limit, or undefined. The happy path allocates nothing
 * (it runs for every item of every request); the path is assembled on the way back from a failure.
 */
function oversized(value: unknown, key: string): Oversized | undefined {
  if (typeof value === 'string') {
    const max = ID_FIELDS.has(key) ? MAX_ID_CHARS : MAX_TEXT_CHARS;
    return value.length > max
      ? { path: [], problem: `is ${value.length} characters, more than ${max}` }
      : undefined;
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_LIST_ITEMS)
      return { path: [], problem: `has ${value.length} entries, more than ${MAX_LIST_ITEMS}` };
    for (let i = 0; i < value.length; i++) {
      const o = oversized(value[i], key);
      if (o !== undefined) {
        o.path.unshift(i);
        return o;
      }
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const obj = value as Record<string, unknown>;
  if (MAP_FIELDS.has(key)) {
    let i = 0;
    for (const k in obj) {
      if (i >= MAX_MAP_ENTRIES) return { path: [], problem: `has more than ${MAX_MAP_ENTRIES} entries` };
      if (k.length > MAX_ID_CHARS)
        return { path: [], problem: `has a key of ${k.length} characters, more than ${MAX_ID_CHARS}` };
      const o = oversized(obj[k], '');
      if (o !== undefined) {
        o.path.unshift(`[entry ${i}]`);
        return o;
      }
      i++;
    }
    return undefined;
  }
  for (const k in obj) {
    const o = oversized(obj[k], k);
    if (o !== undefined) {
      o.path.unshift(k);
      return o;
    }
  }
  return undefined;
}

/** The first field of `value` (an item of a request at `path`) over its size limit, as a message. */
export function sizeProblem(value: unknown, path: string, key = ''): string | undefined {
  const o = oversized(value, key);
  return o === undefined ? undefined : `${formatFieldPath(path, o.path)} ${o.problem}`;
}

function itemsProblem(items: unknown[], name: string): string | undefined {
  for (const [i, item] of items.entries()) {
    const p = sizeProblem(item, `${name}[${i}]`, name === 'cluster_ids' ? 'id' : '');
    if (p !== undefined) return p;
  }
  return undefined;
}

function batchProblem(batchId: unknown, items: unknown): string | undefined {
  if (typeof batchId !== 'string' || batchId.length === 0) return 'batch_id is required';
  if (batchId.length > MAX_BATCH_ID_CHARS) return `batch_id longer than ${MAX_BATCH_ID_CHARS} characters`;
  if (!Array.isArray(items)) return 'items missing';
  if (items.length > MAX_BATCH_ITEMS) return `more than ${MAX_BATCH_ITEMS} items in one batch`;
  return undefined;
}

export function checkRegister(req: RegisterClustersRequest): string | undefined {
  const p = batchProblem(req.batch_id, req.clusters) ?? itemsProblem(req.clusters, 'clusters');
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
  const p = batchProblem(req.batch_id, req.sightings) ?? itemsProblem(req.sightings, 'sightings');
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
  const p = batchProblem(req.batch_id, req.activities) ?? itemsProblem(req.activities, 'activities');
  if (p) return p;
  for (const [i, a] of req.activities.entries()) {
    if (a.cluster_id === '' || a.controller_name === '')
      return `activities[${i}] needs cluster_id and controller_name`;
  }
  return undefined;
}

export function checkDeregister(req: DeregisterClustersRequest): string | undefined {
  const p =
    batchProblem(req.batch_id, req.cluster_ids) ??
    itemsProblem(req.cluster_ids, 'cluster_ids') ??
    sizeProblem(req.account, 'account', 'account');
  if (p) return p;
  const hasIds = req.cluster_ids.length > 0;
  const hasAccount = req.account !== '';
  if (hasIds === hasAccount) return 'exactly one of cluster_ids or account is required';
  if (req.cluster_ids.some((id) => id === '')) return 'cluster_ids must not contain empty ids';
  return undefined;
}
