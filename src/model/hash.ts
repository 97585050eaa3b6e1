/**
 * Content hashes and stable ids. `contentHash` is computed over a canonical JSON form (keys sorted,
 * undefined dropped), so two objects that differ only in key order or absent optional fields hash
 * alike: later stages use it to tell "changed" from "seen again".
 *
 * The canonical form is written as UTF-8 bytes into one reused buffer (no intermediate strings), and
 * the hash is taken over those bytes: the same bytes, so the same hash, as SHA-256 over the
 * canonical JSON string. The canonical JSON of parts shared by several stored objects (share.ts) is
 * written once and copied into every later hash of an object holding them.
 */
import { createHash, hash } from 'node:crypto';

const initialBytes = 16 * 1024;
/** Past this size the buffer is let go after use, so one huge object does not pin its size. */
const keptMaxBytes = 1024 * 1024;
/** The buffer the canonical form is written into; grows as needed. */
let out = Buffer.allocUnsafe(initialBytes);
let at = 0;

function reserve(bytes: number): void {
  if (at + bytes <= out.length) return;
  let size = out.length * 2;
  while (size < at + bytes) size *= 2;
  const grown = Buffer.allocUnsafe(size);
  out.copy(grown, 0, 0, at);
  out = grown;
}

function release(): void {
  if (out.length > keptMaxBytes) out = Buffer.allocUnsafe(initialBytes);
}

export function canonicalJson(value: unknown): string {
  at = 0;
  const json = writeCanonical(value) ? out.toString('utf8', 0, at) : 'null';
  release();
  return json;
}

const NULL = [0x6e, 0x75, 0x6c, 0x6c];
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];

function writeBytes(bytes: readonly number[]): void {
  reserve(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[at++] = bytes[i] as number;
}

/** Whether `value` has a JSON form (undefined, functions and symbols have none: dropped in objects). */
function writable(value: unknown): boolean {
  if (value === null) return true;
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'object';
}

/** Writes `value`'s canonical JSON; false (nothing written) when it has none. */
function writeCanonical(value: unknown): boolean {
  if (value === null) {
    writeBytes(NULL);
    return true;
  }
  switch (typeof value) {
    case 'string':
      writeString(value);
      return true;
    case 'number':
      if (Number.isFinite(value)) writeAscii(String(value));
      else writeBytes(NULL);
      return true;
    case 'boolean':
      writeBytes(value ? TRUE : FALSE);
      return true;
    case 'object': {
      const memo = sharedJson.get(value);
      if (memo === undefined) {
        writeObject(value);
        return true;
      }
      if (memo !== null) {
        reserve(memo.length);
        if (typeof memo === 'string') at += out.write(memo, at, 'latin1');
        else {
          out.set(memo, at);
          at += memo.length;
        }
        return true;
      }
      // Only the outermost shared part keeps its JSON: the parts inside it are not written again.
      if (writingShared) {
        writeObject(value);
        return true;
      }
      const start = at;
      writingShared = true;
      try {
        writeObject(value);
      } finally {
        writingShared = false;
      }
      // Plain ASCII (the common case) is kept as a string; anything else as its UTF-8 bytes.
      const ascii = out.toString('latin1', start, at);
      sharedJson.set(value, isAscii(ascii) ? ascii : Buffer.from(out.subarray(start, at)));
      return true;
    }
    default:
      return false;
  }
}

function writeObject(value: object): void {
  if (Array.isArray(value)) {
    reserve(1);
    out[at++] = 0x5b; // [
    for (let i = 0; i < value.length; i++) {
      if (i > 0) {
        reserve(1);
        out[at++] = 0x2c; // ,
      }
      if (!writeCanonical(value[i])) writeBytes(NULL);
    }
    reserve(1);
    out[at++] = 0x5d; // ]
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(Object.keys(record));
  reserve(1);
  out[at++] = 0x7b; // {
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (!writable(v)) continue;
    if (!first) {
      reserve(1);
      out[at++] = 0x2c;
    }
    writeString(key);
    reserve(1);
    out[at++] = 0x3a; // :
    writeCanonical(v);
    first = false;
  }
  reserve(1);
  out[at++] = 0x7d; // }
}

/** A string as JSON.stringify writes it, in UTF-8; plain ASCII byte by byte, the rest through JSON.stringify. */
function writeString(s: string): void {
  const n = s.length;
  reserve(n + 2);
  const start = at;
  out[at++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
      at = start;
      const json = JSON.stringify(s);
      reserve(json.length * 3);
      at += out.write(json, at, 'utf8');
      return;
    }
    out[at++] = c;
  }
  out[at++] = 0x22;
}

/** An ASCII string (a number's text) byte by byte. */
function writeAscii(s: string): void {
  reserve(s.length);
  for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
}

/**
 * Parts shared by several stored objects (share.ts), immutable from then on: their canonical JSON,
 * written at first use and reused by every later hash of an object holding them (a string when it
 * is plain ASCII, its UTF-8 bytes otherwise; null: not written yet). Weak: an entry lives as long
 * as its part.
 */
const sharedJson = new WeakMap<object, string | Uint8Array | null>();

const beyondAscii = /[\u0080-\uffff]/;
function isAscii(s: string): boolean {
  return !beyondAscii.test(s);
}
/** True while a shared part's JSON is being written (writing is synchronous). */
let writingShared = false;

/**
 * Declares `part` immutable and shared: its canonical JSON is written once and reused. Only for
 * parts nothing will modify again.
 */
export function reuseCanonicalJson(part: object): void {
  if (!sharedJson.has(part)) sharedJson.set(part, null);
}

/**
 * Key orders seen before, by first key: objects of one shape come back with the same keys in the
 * same order, and sorting them again costs more than recognizing them. Bounded.
 */
const sortedOrders = new Map<string, { keys: string[]; sorted: string[] }>();
const sortedOrdersMax = 1_000;

function sortedKeys(keys: string[]): string[] {
  if (isSorted(keys)) return keys;
  const first = keys[0] as string;
  const known = sortedOrders.get(first);
  if (known !== undefined && sameKeys(known.keys, keys)) return known.sorted;
  const sorted = [...keys].sort();
  if (known !== undefined || sortedOrders.size < sortedOrdersMax) sortedOrders.set(first, { keys, sorted });
  return sorted;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

/** A short (128-bit, base64url) SHA-256 of the canonical JSON form. */
export function contentHash(value: unknown): string {
  at = 0;
  if (!writeCanonical(value)) writeBytes(NULL);
  const digest = first22(hash('sha256', out.subarray(0, at), 'base64url'));
  release();
  return digest;
}

/**
 * The first 22 characters of `s` as a string of their own: `.slice()` would give a V8 sliced
 * string keeping the whole 43-character encoding alive behind every stored hash.
 */
function first22(s: string): string {
  const c = (i: number): number => s.charCodeAt(i);
  // prettier-ignore
  return String.fromCharCode(
    c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10),
    c(11), c(12), c(13), c(14), c(15), c(16), c(17), c(18), c(19), c(20), c(21),
  );
}

/** A stable id from parts: the same parts always give the same id, across processes and restarts. */
export function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest().toString('hex', 0, 16);
}
