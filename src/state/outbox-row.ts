/**
 * Outbox rows: a console write waiting for an acknowledgement, as the `outbox` table stores it. `seq`
 * orders rows and is never reused; `rpc` names the write (`OutboxRpc`), `key` the object it concerns,
 * `payload` the request body as JSON. A row written by another version (or by hand) may carry an rpc
 * this version does not know: `isOutboxRow` tells, so the reader can set it aside in order rather
 * than skip it. Pure types and guards; nothing here throws.
 */

export type OutboxRpc = 'register' | 'sightings' | 'deregister' | 'resync';

/** A pending row as stored. `rpc` is an OutboxRpc unless something else wrote the row (see isOutboxRow). */
export interface PendingRow {
  seq: number;
  rpc: string;
  key: string;
  payload: string;
  createdMs: number;
}

/** A pending row this version can send. */
export interface OutboxRow extends PendingRow {
  rpc: OutboxRpc;
}

/** An `outbox` row as SQLite returns it. */
export interface RawRow {
  seq: number;
  rpc: string;
  key: string;
  payload: string;
  created_ms: number;
}

export function isOutboxRpc(v: string): v is OutboxRpc {
  return v === 'register' || v === 'sightings' || v === 'deregister' || v === 'resync';
}

/** Whether this version knows the row's rpc (a newer version, or a hand edit, may have written others). */
export function isOutboxRow(r: PendingRow): r is OutboxRow {
  return isOutboxRpc(r.rpc);
}
