/**
 * Converts a LogEntry as the gax Logging client delivers it (camelCase, Timestamp objects,
 * `protoPayload` as `{type_url, value}` in snake case — a client quirk — or `{typeUrl, value}`)
 * to the JSON form Cloud Logging shows, decoding AuditLog payloads. `auditEntryToHints` consumes it.
 *
 * Failure: throws a specific Error when the payload claims to be an AuditLog but does not decode;
 * callers count the entry as malformed and skip it.
 */
import type { JsonObject } from './json.js';
import { isObject } from './json.js';
import { AUDIT_LOG_TYPE_URL, decodeAuditLog } from './audit-proto.js';
import { timestampFromProto } from './log-cursor.js';

function anyParts(p: unknown): { typeUrl: string; value: Uint8Array } | undefined {
  if (!isObject(p as JsonObject)) return undefined;
  const o = p as Record<string, unknown>;
  const typeUrl =
    typeof o['type_url'] === 'string'
      ? o['type_url']
      : typeof o['typeUrl'] === 'string'
        ? o['typeUrl']
        : undefined;
  const value = o['value'];
  if (typeUrl === undefined) return undefined;
  if (value instanceof Uint8Array) return { typeUrl, value };
  if (typeof value === 'string') return { typeUrl, value: Buffer.from(value, 'base64') };
  return { typeUrl, value: new Uint8Array() };
}

function labelsOf(v: unknown): JsonObject {
  const out: JsonObject = {};
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x === 'string') out[k] = x;
  }
  return out;
}

export function logEntryToJson(e: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  if (typeof e['insertId'] === 'string') out['insertId'] = e['insertId'];
  if (typeof e['logName'] === 'string') out['logName'] = e['logName'];
  const ts = timestampFromProto(e['timestamp'] as { seconds?: unknown; nanos?: unknown } | undefined);
  if (ts !== undefined) out['timestamp'] = ts;
  const rts = timestampFromProto(e['receiveTimestamp'] as { seconds?: unknown; nanos?: unknown } | undefined);
  if (rts !== undefined) out['receiveTimestamp'] = rts;
  const resource = e['resource'];
  if (resource !== null && typeof resource === 'object') {
    const r = resource as Record<string, unknown>;
    out['resource'] = { type: typeof r['type'] === 'string' ? r['type'] : '', labels: labelsOf(r['labels']) };
  }
  const op = e['operation'];
  if (op !== null && typeof op === 'object') {
    // LogEntryOperation: a long-running operation's entries share `id`; `first`/`last` mark its ends.
    const o = op as Record<string, unknown>;
    const operation: JsonObject = {};
    if (typeof o['id'] === 'string' && o['id'] !== '') operation['id'] = o['id'];
    if (typeof o['producer'] === 'string' && o['producer'] !== '') operation['producer'] = o['producer'];
    if (o['first'] === true) operation['first'] = true;
    if (o['last'] === true) operation['last'] = true;
    if (Object.keys(operation).length > 0) out['operation'] = operation;
  }
  const any = anyParts(e['protoPayload']);
  if (any) {
    if (any.typeUrl === AUDIT_LOG_TYPE_URL) out['protoPayload'] = decodeAuditLog(any.value);
    else out['protoPayload'] = { '@type': any.typeUrl };
  }
  return out;
}
