/**
 * Content hashes and stable ids. `contentHash` is computed over a canonical JSON form (keys sorted,
 * undefined dropped), so two objects that differ only in key order or absent optional fields hash
 * alike: later stages use it to tell "changed" from "seen again".
 */
import { createHash, hash } from 'node:crypto';
import { flatString } from './intern.js';

export function canonicalJson(value: unknown): string {
  return writeCanonical(value) ?? 'null';
}

/**
 * Serializes directly into a string, with object keys sorted and undefined members dropped (as
 * JSON.stringify drops them). Hot path of every diff: no intermediate sorted copies are built.
 */
function writeCanonical(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      const memo = sharedJson.get(value);
      if (memo === undefined) return writeObject(value);
      if (memo !== null) return memo;
      // Only the outermost shared part keeps its JSON: the parts inside it are not written again.
      if (writingShared) return writeObject(value);
      let json: string;
      writingShared = true;
      try {
        json = flatString(writeObject(value));
      } finally {
        writingShared = false;
      }
      sharedJson.set(value, json);
      return json;
    }
    default:
      return undefined;
  }
}

function writeObject(value: object): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += writeCanonical(value[i]) ?? 'null';
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (!isSorted(keys)) keys.sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = writeCanonical(record[key]);
    if (v === undefined) continue;
    out += first ? quotedKey(key) : `,${quotedKey(key)}`;
    out += v;
    first = false;
  }
  return `${out}}`;
}

/**
 * Parts shared by several stored objects (share.ts), immutable from then on: their canonical JSON,
 * written at first use and reused by every later hash of an object holding them (null: not written
 * yet). Weak: an entry lives as long as its part.
 */
const sharedJson = new WeakMap<object, string | null>();
/** True while a shared part's JSON is being written (writing is synchronous). */
let writingShared = false;

/**
 * Declares `part` immutable and shared: its canonical JSON is written once and reused. Only for
 * parts nothing will modify again.
 */
export function reuseCanonicalJson(part: object): void {
  if (!sharedJson.has(part)) sharedJson.set(part, null);
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

/** Field names repeat across millions of objects: quote each once. Bounded so odd input cannot grow it. */
const quotedKeys = new Map<string, string>();
const quotedKeysMax = 10_000;
function quotedKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = `${JSON.stringify(key)}:`;
    if (quotedKeys.size < quotedKeysMax) quotedKeys.set(key, q);
  }
  return q;
}

/** A short (128-bit, base64url) SHA-256 of the canonical JSON form. */
export function contentHash(value: unknown): string {
  // The first 22 characters, copied into a string of their own: a plain .slice() would be a V8
  // sliced string keeping the whole 43-character encoding alive behind every stored hash.
  return flatString(hash('sha256', canonicalJson(value), 'base64url').slice(0, 22));
}

/** A stable id from parts: the same parts always give the same id, across processes and restarts. */
export function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest().toString('hex', 0, 16);
}
