/**
 * Content hashes and stable ids. `contentHash` is taken over a canonical JSON form (keys sorted,
 * undefined dropped), so two objects that differ only in key order or absent optional fields hash
 * alike: later stages use it to tell "changed" from "seen again".
 *
 * Hash v2 (state database schema 6 rewrote the stored ones): a Merkle hash. Every object and array
 * (a part) has a 128-bit digest, MurmurHash3 x86_128 (murmur3.ts) of its canonical JSON in which
 * each member that is itself a part is written as the byte 0x01 followed by that part's 16 digest
 * bytes (0x01 never occurs in JSON text, and a digest has a fixed length, so the form stays
 * unambiguous); the hash of a value is the digest of its outermost part (of its JSON for a
 * primitive), 22 characters of base64url. Equal canonical JSON gives an equal hash, shared part or
 * fresh copy alike; different canonical JSON gives a different hash but for MurmurHash3 collisions
 * (accidental ones at 2^-128; it is no defence against crafted input, which change detection
 * does not need).
 *
 * A part shared by several stored objects (share.ts, immutable from then on) remembers its digest
 * once (`rememberPartDigest`), so hashing an object holding it writes 17 bytes instead of the part.
 * The canonical form is written as UTF-8 bytes into one reused buffer (no intermediate strings).
 */
import { createHash } from 'node:crypto';
import { digestWords, murmur3x86_128 } from './murmur3.js';

const initialBytes = 16 * 1024;
/** Past this size the buffer is let go after use, so one huge object does not pin its size. */
const keptMaxBytes = 1024 * 1024;
/** The buffer the canonical form is written into; grows as needed. */
let out = Buffer.allocUnsafe(initialBytes);
/** A view over exactly `out`, for MurmurHash3's word reads; replaced with `out`. */
let outView = viewOf(out);
let at = 0;

function viewOf(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function reserve(bytes: number): void {
  if (at + bytes <= out.length) return;
  let size = out.length * 2;
  while (size < at + bytes) size *= 2;
  const grown = Buffer.allocUnsafe(size);
  out.copy(grown, 0, 0, at);
  out = grown;
  outView = viewOf(out);
}

function release(): void {
  if (out.length > keptMaxBytes) {
    out = Buffer.allocUnsafe(initialBytes);
    outView = viewOf(out);
  }
}

/** The canonical JSON form itself (what the hash is defined over, parts written in full). */
export function canonicalJson(value: unknown): string {
  at = 0;
  merkle = false;
  try {
    return writeCanonical(value) ? out.toString('utf8', 0, at) : 'null';
  } finally {
    merkle = true;
    release();
  }
}

/** False while `canonicalJson` writes parts in full instead of as their digests. */
let merkle = true;
/** Marks a part written as its digest: never a byte of JSON text. */
const PART = 0x01;
/** The hash version, as MurmurHash3's seed. */
const hashSeed = 2;

/**
 * Parts shared by several stored objects (share.ts), immutable from then on -> their digest as 16
 * Latin-1 characters (null: not hashed yet). Weak: an entry lives as long as its part.
 */
const partDigests = new WeakMap<object, string | null>();

/**
 * Declares `part` immutable and shared: its digest is computed once and reused by every later hash
 * of an object holding it. Only for parts nothing will modify again.
 */
export function rememberPartDigest(part: object): void {
  if (!partDigests.has(part)) partDigests.set(part, null);
}

/** Writes a part as PART and its digest (computed over its canonical form, children as digests). */
function writePart(value: object): void {
  const memo = partDigests.get(value);
  if (typeof memo === 'string') {
    reserve(17);
    out[at++] = PART;
    for (let i = 0; i < 16; i++) out[at++] = memo.charCodeAt(i);
    return;
  }
  const start = at;
  writeObject(value, undefined);
  murmur3x86_128(out, start, at, hashSeed, outView);
  at = start;
  reserve(17);
  out[at++] = PART;
  const bytesAt = at;
  writeDigestBytes();
  if (memo === null) partDigests.set(value, out.toString('latin1', bytesAt, at));
}

/** The last digest's 16 bytes (each word little-endian) at `at`; room reserved by the caller. */
function writeDigestBytes(): void {
  for (let w = 0; w < 4; w++) {
    const x = digestWords[w] as number;
    out[at++] = x & 0xff;
    out[at++] = (x >>> 8) & 0xff;
    out[at++] = (x >>> 16) & 0xff;
    out[at++] = x >>> 24;
  }
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
    case 'object':
      if (merkle) writePart(value);
      else writeObject(value, undefined);
      return true;
    default:
      return false;
  }
}

/** Writes an object's or array's canonical form, without the member `omit` (the outermost part's only). */
function writeObject(value: object, omit: string | undefined): void {
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
    if (key === omit || !writable(v)) continue;
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

/**
 * The hash of `value` (see the top of this file): 22 characters of base64url. `omitKey` leaves one
 * member of an outermost object out (metadata that is not content, such as a ClusterObject's order).
 */
export function contentHash(value: unknown, omitKey?: string): string {
  at = 0;
  try {
    const memo = value !== null && typeof value === 'object' ? partDigests.get(value) : undefined;
    if (typeof memo === 'string' && omitKey === undefined) {
      for (let i = 0; i < 16; i++) out[i] = memo.charCodeAt(i);
      return base64url16(0);
    }
    if (value !== null && typeof value === 'object') writeObject(value, omitKey);
    else if (!writeCanonical(value)) writeBytes(NULL);
    murmur3x86_128(out, 0, at, hashSeed, outView);
    at = 0;
    writeDigestBytes();
    return base64url16(0);
  } finally {
    release();
  }
}

const base64urlChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The base64url character of the 6-bit value `x`. */
function b64(x: number): number {
  return base64urlChars.charCodeAt(x);
}

/** The 22 characters of the hash being encoded. */
const chars = new Uint8Array(22);

/**
 * The 16 bytes at `from` in base64url without padding (22 characters), as one flat string (one
 * fromCharCode: a string built by `+=` would be a rope of 7 pieces behind every stored hash).
 */
function base64url16(from: number): string {
  let c = 0;
  for (let i = from; i < from + 15; i += 3) {
    const n = ((out[i] as number) << 16) | ((out[i + 1] as number) << 8) | (out[i + 2] as number);
    chars[c++] = b64(n >>> 18);
    chars[c++] = b64((n >>> 12) & 63);
    chars[c++] = b64((n >>> 6) & 63);
    chars[c++] = b64(n & 63);
  }
  const last = out[from + 15] as number;
  chars[20] = b64(last >>> 2);
  chars[21] = b64((last & 3) << 4);
  const h = chars;
  // prettier-ignore
  return String.fromCharCode(
    h[0] as number, h[1] as number, h[2] as number, h[3] as number, h[4] as number, h[5] as number,
    h[6] as number, h[7] as number, h[8] as number, h[9] as number, h[10] as number, h[11] as number,
    h[12] as number, h[13] as number, h[14] as number, h[15] as number, h[16] as number,
    h[17] as number, h[18] as number, h[19] as number, h[20] as number, h[21] as number,
  );
}

/** A stable id from parts: the same parts always give the same id, across processes and restarts. */
export function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest().toString('hex', 0, 16);
}
