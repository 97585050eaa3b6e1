/**
 * Decoding and encoding of `google.cloud.audit.AuditLog` payloads (LogEntry.protoPayload, an Any of
 * `{type_url, value}`), using the vendored wire-compatible subset in ./protos. Decoded payloads come
 * back in the JSON form Cloud Logging shows (`@type`, camelCase, Struct as plain JSON), so one
 * mapper (`auditEntryToHints`) serves both the gRPC path and JSON samples.
 *
 * Failure: `decodeAuditLog` throws a specific Error on bytes that are not an AuditLog; callers count
 * and skip the entry.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { JsonObject, JsonValue } from './json.js';
import { isObject } from './json.js';

export const AUDIT_LOG_TYPE_URL = 'type.googleapis.com/google.cloud.audit.AuditLog';

const require = createRequire(import.meta.url);

/** The root directory of an installed package (resolved through its main entry: some packages do not export package.json). */
function packageRoot(pkg: string, paths?: string[]): string {
  let dir = dirname(require.resolve(pkg, paths === undefined ? undefined : { paths }));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'build'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package root of ${pkg}`);
    dir = up;
  }
  return dir;
}

/** Directory of a package's bundled protos (`build/protos`), resolved from an optional base package. */
export function packageProtosDir(pkg: string, fromPkg?: string): string {
  const paths = fromPkg === undefined ? undefined : [packageRoot(fromPkg)];
  return join(packageRoot(pkg, paths), 'build', 'protos');
}

/**
 * The vendored protos: next to this module in a source checkout, or under the nearest ancestor's
 * `adapters/cloudrun/protos` when running compiled from `dist/` (the Docker image copies them there).
 */
function findVendoredProtosDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const marker = join('google', 'cloud', 'audit', 'audit_log.proto');
  if (existsSync(join(here, 'protos', marker))) return join(here, 'protos');
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'adapters', 'cloudrun', 'protos');
    if (existsSync(join(candidate, marker))) return candidate;
  }
  return join(here, 'protos');
}

const vendoredProtosDir = findVendoredProtosDir();

let cachedType: protobuf.Type | undefined;

function auditLogType(): protobuf.Type {
  if (cachedType) return cachedType;
  const includeDirs = [vendoredProtosDir, packageProtosDir('google-gax', '@google-cloud/run')];
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    for (const dir of includeDirs) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync('google/cloud/audit/audit_log.proto', { keepCase: false });
  cachedType = root.lookupType('google.cloud.audit.AuditLog');
  return cachedType;
}

/** google.protobuf.Value (decoded object form) -> plain JSON. */
function valueToJson(v: unknown): JsonValue {
  if (!isObject(v)) return null;
  if (typeof v['stringValue'] === 'string') return v['stringValue'];
  if (typeof v['numberValue'] === 'number') return v['numberValue'];
  if (typeof v['boolValue'] === 'boolean') return v['boolValue'];
  if (isObject(v['structValue'])) return structToJson(v['structValue']);
  if (isObject(v['listValue'])) {
    const values = v['listValue']['values'];
    return Array.isArray(values) ? values.map(valueToJson) : [];
  }
  return null;
}

function structToJson(s: unknown): JsonObject {
  const out: JsonObject = {};
  if (!isObject(s) || !isObject(s['fields'])) return out;
  for (const [k, v] of Object.entries(s['fields'])) out[k] = valueToJson(v);
  return out;
}

function jsonToValue(v: JsonValue | undefined): JsonObject {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v) };
}

function jsonToStruct(o: JsonObject): JsonObject {
  const fields: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) fields[k] = jsonToValue(v);
  return { fields };
}

const STRUCT_FIELDS = ['request', 'response', 'metadata'] as const;

/** AuditLog bytes -> the JSON form of `protoPayload` (with `@type`). */
export function decodeAuditLog(bytes: Uint8Array): JsonObject {
  const type = auditLogType();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    throw new Error(`protoPayload is not a google.cloud.audit.AuditLog: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const o = type.toObject(message, { longs: String, enums: String, defaults: false }) as Record<
    string,
    unknown
  >;
  const out: JsonObject = { '@type': AUDIT_LOG_TYPE_URL };
  for (const [k, v] of Object.entries(o)) {
    if ((STRUCT_FIELDS as readonly string[]).includes(k)) out[k] = structToJson(v);
    else out[k] = v as JsonValue;
  }
  return out;
}

/** The JSON form of an AuditLog -> bytes (used by the emulator to build real payloads). */
export function encodeAuditLog(payload: JsonObject): Uint8Array {
  const type = auditLogType();
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (k === '@type' || v === undefined) continue;
    if (
      (STRUCT_FIELDS as readonly string[]).includes(k) &&
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v)
    ) {
      o[k] = jsonToStruct(v);
    } else o[k] = v;
  }
  return type.encode(type.fromObject(o)).finish();
}
