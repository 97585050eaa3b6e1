/**
 * The emulator's Cloud Logging store: entries per project in (timestamp, insertId) order, a tiny
 * filter language (the subset the adapter sends: `logName="..."` alternatives, `timestamp >=|> "..."`,
 * `protoPayload.serviceName="..."`; other terms are ignored), and live subscribers for tailing.
 * Payloads are real AuditLog bytes in an Any `{type_url, value}` (snake case, as the client expects).
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../json.js';
import { obj, str } from '../json.js';
import { AUDIT_LOG_TYPE_URL, encodeAuditLog } from '../audit-proto.js';
import { canonicalTimestamp, compareCursors, timestampToProto } from '../log-cursor.js';

export interface StoredEntry {
  project: string;
  timestamp: string;
  insertId: string;
  logName: string;
  serviceName: string;
  /** The LogEntry message as proto-loader serializes it (keepCase). */
  wire: Record<string, unknown>;
}

export type EntryListener = (e: StoredEntry) => void;

export interface CompiledFilter {
  logNames: string[];
  minTimestamp?: { ts: string; inclusive: boolean };
  serviceName?: string;
}

export function compileFilter(filter: string): CompiledFilter {
  const logNames = [...filter.matchAll(/logName\s*=\s*"([^"]+)"/g)].map((m) => m[1] ?? '');
  const out: CompiledFilter = { logNames };
  const ts = /timestamp\s*(>=|>)\s*"([^"]+)"/.exec(filter);
  if (ts) {
    const c = canonicalTimestamp(ts[2] ?? '');
    if (c) out.minTimestamp = { ts: c, inclusive: ts[1] === '>=' };
  }
  const sn = /protoPayload\.serviceName\s*=\s*"([^"]+)"/.exec(filter);
  if (sn) out.serviceName = sn[1] ?? '';
  return out;
}

export function matches(f: CompiledFilter, e: StoredEntry): boolean {
  if (f.logNames.length > 0 && !f.logNames.includes(e.logName)) return false;
  if (f.serviceName !== undefined && f.serviceName !== e.serviceName) return false;
  if (f.minTimestamp) {
    if (f.minTimestamp.inclusive ? e.timestamp < f.minTimestamp.ts : e.timestamp <= f.minTimestamp.ts)
      return false;
  }
  return true;
}

export class LogStore {
  private readonly entries = new Map<string, StoredEntry[]>();
  private readonly listeners = new Set<EntryListener>();
  private seq = 0;

  /**
   * Appends a JSON-form entry (the shape Cloud Logging shows, `@type` or `at_sign_type`). Its
   * protoPayload is encoded as a real AuditLog. Missing insertId/timestamp are filled in.
   */
  append(project: string, entry: JsonObject, nowTimestamp: string): StoredEntry {
    this.seq += 1;
    const insertId =
      str(entry, 'insertId') ??
      createHash('sha256').update(`${project}/${this.seq}`).digest('hex').slice(0, 12);
    const timestamp =
      canonicalTimestamp(str(entry, 'timestamp') ?? '') ??
      canonicalTimestamp(str(entry, 'receiveTimestamp') ?? '') ??
      nowTimestamp;
    const payload = obj(entry, 'protoPayload') ?? {};
    const resource = obj(entry, 'resource') ?? {};
    const logName = str(entry, 'logName') ?? `projects/${project}/logs/cloudaudit.googleapis.com%2Factivity`;
    const wire: Record<string, unknown> = {
      log_name: logName,
      resource: { type: str(resource, 'type') ?? 'global', labels: obj(resource, 'labels') ?? {} },
      proto_payload: { type_url: AUDIT_LOG_TYPE_URL, value: Buffer.from(encodeAuditLog(payload)) },
      timestamp: timestampToProto(timestamp),
      receive_timestamp: timestampToProto(nowTimestamp),
      severity: str(entry, 'severity') ?? 'NOTICE',
      insert_id: insertId,
    };
    const operation = obj(entry, 'operation');
    if (operation) wire['operation'] = operation;
    const stored: StoredEntry = {
      project,
      timestamp,
      insertId,
      logName,
      serviceName: str(payload, 'serviceName') ?? '',
      wire,
    };
    const list = this.entries.get(project) ?? [];
    // Keep (timestamp, insertId) order; appends are nearly always at the end.
    let i = list.length;
    while (i > 0 && compareCursors(list[i - 1] as StoredEntry, stored) > 0) i -= 1;
    list.splice(i, 0, stored);
    this.entries.set(project, list);
    for (const l of this.listeners) l(stored);
    return stored;
  }

  query(projects: string[], filter: CompiledFilter, descending: boolean): StoredEntry[] {
    const out: StoredEntry[] = [];
    for (const p of projects) for (const e of this.entries.get(p) ?? []) if (matches(filter, e)) out.push(e);
    out.sort(compareCursors);
    if (descending) out.reverse();
    return out;
  }

  count(project?: string): number {
    if (project !== undefined) return this.entries.get(project)?.length ?? 0;
    let n = 0;
    for (const l of this.entries.values()) n += l.length;
    return n;
  }

  subscribe(l: EntryListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
