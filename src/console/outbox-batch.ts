/**
 * Outbox batches: the request one write RPC carries for consecutive outbox rows of one RPC kind.
 *
 * `makeBatch` takes the longest prefix of the pending rows with one rpc, within `BATCH_MAX_BYTES` of
 * payload, that this version can send; `deregister` and `resync` rows go alone. The batch id is
 * `<db instance>-<first seq>-<last seq>`, so a re-send is recognised by the console. A row this
 * version cannot send (an rpc it does not know, a payload that is not a JSON object) ends the batch;
 * when it is the first row it comes back as `Unsendable`, with a reason that never quotes the
 * payload, so the caller sets it aside in order. Pure; never throws on row content.
 */
import type { OutboxRow, PendingRow } from '../state/outbox-row.js';
import { isOutboxRow } from '../state/outbox-row.js';
import type { AgentRpc } from './agent-rpc.js';
import type {
  ClusterRegistration,
  DeregisterClustersRequest,
  RegisterClustersRequest,
  ReportSightingsRequest,
  ResyncClusterRequest,
  Sighting,
} from './wire-types.js';

/** Payload bytes of the rows in one batch, at most. */
export const BATCH_MAX_BYTES = 3 * 1024 * 1024;

export interface Batch {
  kind: 'batch';
  rpc: AgentRpc;
  request: { batch_id: string };
  items: number;
  /** The outbox rows it carries, in seq order (one RPC kind). */
  rows: OutboxRow[];
  /** Their parsed payloads, in the same order. */
  bodies: object[];
  lastSeq: number;
}

/** The oldest pending row, which this version cannot send. */
interface Unsendable {
  kind: 'unsendable';
  row: PendingRow;
  reason: 'unknown_rpc' | 'unreadable_payload';
  detail: string;
}

export const AGENT_RPC: Record<OutboxRow['rpc'], AgentRpc> = {
  register: 'RegisterClusters',
  sightings: 'ReportSightings',
  deregister: 'DeregisterClusters',
  resync: 'ResyncCluster',
};

/** Quotes text from the database for a message: JSON string syntax, at most 100 characters. */
export function quoted(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

/** The parsed payload, or why it cannot be sent. The reason never quotes the payload itself. */
function readPayload(payload: string): object | string {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // V8 quotes the start of the text ('Unexpected token..., "<text>" is not valid JSON'): leave it out.
    return message.replace(/, ".*"(?:\.\.\.)? is not valid JSON$/s, ' (not valid JSON)').slice(0, 200);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`;
  }
  return value;
}

/**
 * The longest prefix of `rows` with one RPC kind, within the byte cap, that this version can send.
 * A row it cannot send ends the batch; when that row is the first, it comes back as `unsendable`
 * (to be set aside, in order). `rows` must not be empty.
 */
export function makeBatch(rows: readonly PendingRow[], instanceId: string): Batch | Unsendable {
  const take: OutboxRow[] = [];
  const bodies: object[] = [];
  let bytes = 0;
  for (const r of rows) {
    const head = take[0];
    if (!isOutboxRow(r)) {
      if (head !== undefined) break;
      return { kind: 'unsendable', row: r, reason: 'unknown_rpc', detail: `unknown rpc ${quoted(r.rpc)}` };
    }
    if (head !== undefined) {
      if (r.rpc !== head.rpc || head.rpc === 'deregister' || head.rpc === 'resync') break;
      if (bytes + r.payload.length > BATCH_MAX_BYTES) break;
    }
    const body = readPayload(r.payload);
    if (typeof body === 'string') {
      if (head !== undefined) break;
      return {
        kind: 'unsendable',
        row: r,
        reason: 'unreadable_payload',
        detail: `unreadable payload: ${body}`,
      };
    }
    take.push(r);
    bodies.push(body);
    bytes += r.payload.length;
  }
  return buildBatch(take, bodies, instanceId);
}

/** The request for exactly `take` (consecutive rows of one RPC kind) and their parsed `bodies`. */
export function buildBatch(take: OutboxRow[], bodies: object[], instanceId: string): Batch {
  const head = take[0];
  if (head === undefined) throw new Error('buildBatch needs at least one row');
  const last = take[take.length - 1] ?? head;
  const batchId = `${instanceId}-${head.seq}-${last.seq}`;
  const batch = { kind: 'batch' as const, rows: take, bodies, lastSeq: last.seq };
  switch (head.rpc) {
    case 'register': {
      const req: RegisterClustersRequest = { batch_id: batchId, clusters: bodies as ClusterRegistration[] };
      return { ...batch, rpc: 'RegisterClusters', request: req, items: bodies.length };
    }
    case 'sightings': {
      const req: ReportSightingsRequest = { batch_id: batchId, sightings: bodies as Sighting[] };
      return { ...batch, rpc: 'ReportSightings', request: req, items: bodies.length };
    }
    case 'deregister': {
      const body = (bodies[0] ?? {}) as Partial<DeregisterClustersRequest>;
      const req: DeregisterClustersRequest = {
        batch_id: batchId,
        cluster_ids: Array.isArray(body.cluster_ids) ? body.cluster_ids : [],
        account: typeof body.account === 'string' ? body.account : '',
      };
      return { ...batch, rpc: 'DeregisterClusters', request: req, items: 1 };
    }
    case 'resync': {
      const req = { ...(bodies[0] ?? {}), batch_id: batchId } as ResyncClusterRequest;
      return { ...batch, rpc: 'ResyncCluster', request: req, items: 1 };
    }
  }
}
