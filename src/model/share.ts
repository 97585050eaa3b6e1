/**
 * Interning of whole objects the watcher keeps for a long time (the watch engine's store): every
 * string is interned (intern.ts), and the repeated parts of an object (an owner reference, a
 * container and its image, a labels map, an owners list) are replaced by one shared copy. At
 * 100,000 ECS tasks the tasks of one service carry identical owners, containers and images; sharing
 * them saves about 300 bytes per task.
 *
 * Strings are interned everywhere except the members that identify an object (`uid`, `name`, `id`
 * of its payload record), which repeat nowhere else. Given the object's store key, an identity
 * member whose text ends the key (an ECS task's ARN and its id end `workload/<cluster>/<arn>`) is
 * kept as a slice of the key instead (a V8 sliced string: about 24 bytes instead of its own copy).
 *
 * Promises: the object returned is the one given (identity is kept: adapters key per-object facts
 * on it) and its content is unchanged; only plain parts at depth >= `shareMinDepth` (below the
 * object and its one payload record, which are unique per object) are shared, and only those with
 * at most `shareMaxEntries` members whose values are strings, numbers, booleans, null or parts
 * shared themselves. Objects handed to the engine are treated as immutable from then on (nothing
 * in the watcher modifies a normalized object; a change is a new object).
 *
 * Bounded: shared parts are found through a GenerationalTable, so parts no longer in use age out.
 *
 * Lookup, top down: a part is found whole by a 30-bit hash of its entire content (names, primitive
 * values, and the same of the parts inside it), computed without building a string, and confirmed
 * member by member (`Object.is` for primitives, the same names in the same order, parts inside it
 * compared the same way), so a hash collision can never share unequal parts (nor 0 with -0). A part
 * found shared costs one lookup however many parts it holds; only a part not found has the parts
 * inside it looked up one by one.
 */
import { GenerationalTable } from './generational-table.js';
import { rememberPartDigest } from './hash.js';
import { intern } from './intern.js';

const shareMinDepth = 2;
/**
 * Members of the payload record (depth 1) that identify the object and repeat nowhere else (a task
 * ARN, a revision name): interning them would only fill the table with strings seen once.
 */
const identityMembers = new Set(['uid', 'name', 'id']);
const shareMaxEntries = 64;
export const shareGenerationMaxEntries = 20_000;
const maxDepth = 32;
/** Parts with more text than this (names and strings, in characters) are left alone (rarely repeated, costly to compare). */
const maxTextLength = 4_096;
/** Unequal parts kept under one hash (a collision); beyond that a part is simply not shared. */
const maxCandidates = 8;

/** Member hash -> the shared parts with that hash (almost always one). */
const table = new GenerationalTable<object[], number>(shareGenerationMaxEntries);
/**
 * Every shared part -> its `deepHash`, with `heldTwice` set once the part is held by a second
 * object (its hash digest is kept from then on). A part inside another is recognized by identity
 * here before its content is read: an adapter that hands out one instance for repeated content (a
 * frozen ContainerImage, image.ts) costs one lookup per holder.
 */
const sharedParts = new WeakMap<object, number>();
const heldTwice = 0x40000000;

/**
 * Interns every string in a tree of plain objects and arrays and shares its repeated parts, in
 * place; returns the same object. `key`: the flat string the object is stored under, whose text
 * the object's identity members may repeat (see the top of this file).
 */
export function internObject<T>(value: T, key?: string): T {
  if (value !== null && typeof value === 'object') {
    storeKey = key;
    try {
      visit(value, 0);
    } finally {
      storeKey = undefined;
    }
  }
  return value;
}

/** The key of the object `internObject` is visiting, if given. */
let storeKey: string | undefined;
/** Shorter strings are copied by `slice` anyway (V8 makes sliced strings of 13 characters or more). */
const sliceMinLength = 13;

/** `v` as a slice of the store key when the key ends with it; else `v`. */
function keySlice(v: string): string {
  const key = storeKey;
  if (key === undefined || v.length < sliceMinLength || v.length >= key.length || !key.endsWith(v)) return v;
  return key.slice(key.length - v.length);
}

/** Shared parts in the table (for tests and measurements). */
export function sharedPartCount(): number {
  return table.size;
}

/**
 * Returns the node `node`'s parent should hold: the shared copy of an equal part, or `node` itself
 * with its strings interned and its object members replaced by their shared copies. A part found
 * shared is taken as it is (its strings were interned when it was first kept).
 *
 * Top down: a part at depth >= shareMinDepth is looked up whole, by a hash of its entire content
 * (`deepHash`), and confirmed by `sameContent`; its children are visited only when it is not found
 * (a part seen before costs one lookup, not one per part inside it).
 */
function visit(node: object, depth: number): object {
  if (depth > maxDepth || !isPlain(node)) return node;
  if (depth < shareMinDepth) {
    keepMembers(node, depth);
    return node;
  }
  // Already a shared part (an adapter handed the same instance again): nothing to do below it.
  const known = sharedParts.get(node);
  if (known !== undefined) {
    if (known < heldTwice) holdAgain(node, known);
    return node;
  }
  const h = deepHash(node, depth);
  if (h === notShareable) {
    keepMembers(node, depth);
    return node;
  }
  const candidates = table.get(h);
  if (candidates !== undefined) {
    for (const shared of candidates) {
      if (!sameContent(shared, node, depth)) continue;
      const hash = sharedParts.get(shared) as number;
      if (hash < heldTwice) holdAgain(shared, hash);
      return shared;
    }
  }
  keepMembers(node, depth);
  if (candidates === undefined) table.set(h, [node]);
  else if (candidates.length < maxCandidates) candidates.push(node);
  else return node;
  sharedParts.set(node, h);
  return node;
}

/** A shared part now held by a second object: worth keeping its digest for their hashes. */
function holdAgain(part: object, hash: number): void {
  rememberPartDigest(part);
  sharedParts.set(part, hash | heldTwice);
}

/**
 * Keeps `node` itself: its object members replaced by their shared copies, its strings interned. A
 * frozen part (an adapter's shared instance) is kept as it is: it cannot be changed, and its
 * strings are already held once, by it.
 */
function keepMembers(node: object, depth: number): void {
  if (Object.isFrozen(node)) return;
  const record = node as Record<string, unknown>;
  if (Array.isArray(node)) {
    const array = node as unknown[];
    for (let i = 0; i < array.length; i++) {
      const v = array[i];
      if (v !== null && typeof v === 'object') {
        const part = visit(v, depth + 1);
        if (part !== v) array[i] = part;
      } else if (typeof v === 'string') array[i] = intern(v);
    }
    return;
  }
  const identity = depth === 1;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (v !== null && typeof v === 'object') {
      const part = visit(v, depth + 1);
      if (part !== v) record[key] = part;
    } else if (typeof v === 'string') {
      if (!(identity && identityMembers.has(key))) record[key] = intern(v);
      else if (storeKey !== undefined) record[key] = keySlice(v);
    }
  }
}

/** `deepHash` of a part that cannot be shared (too large, too deep, or holding something not plain). */
const notShareable = -1;

/**
 * A 30-bit hash of a part's whole content (member names in order, primitive values, and the same of
 * every part inside it), computed without building a string; `notShareable` when the part or a
 * part inside it cannot be shared. Reads only.
 */
function deepHash(node: object, depth: number): number {
  if (depth > maxDepth || !isPlain(node)) return notShareable;
  let h: number;
  let n = 0;
  let text = 0;
  if (Array.isArray(node)) {
    const array = node as unknown[];
    n = array.length;
    if (n > shareMaxEntries) return notShareable;
    h = 0x2f6b3c1d;
    for (let i = 0; i < n; i++) {
      const v = array[i];
      if (v !== null && typeof v === 'object') {
        const child = partHash(v, depth + 1);
        if (child === notShareable) return notShareable;
        h = mix(mix(h, 7), child);
      } else {
        h = mixValue(h, v);
        if (h === notShareable) return notShareable;
        if (typeof v === 'string') text += v.length;
      }
    }
  } else {
    const record = node as Record<string, unknown>;
    h = 0x5a17e9b3;
    // for-in: the part's own members in order (plain parts inherit no enumerable members), without
    // allocating its key list.
    for (const key in record) {
      if (++n > shareMaxEntries) return notShareable;
      const v = record[key];
      if (v !== null && typeof v === 'object') {
        const child = partHash(v, depth + 1);
        if (child === notShareable) return notShareable;
        h = mix(mix(h, 7), child);
      } else {
        h = mixValue(h, v);
        if (h === notShareable) return notShareable;
        if (typeof v === 'string') text += v.length;
      }
      h = mixText(mix(h, 8), key);
      text += key.length;
    }
  }
  if (text > maxTextLength) return notShareable;
  return h & 0x3fffffff;
}

/** `deepHash` of a part inside another: remembered for a shared part, else computed. */
function partHash(node: object, depth: number): number {
  const known = sharedParts.get(node);
  return known === undefined ? deepHash(node, depth) : known & ~heldTwice;
}

/** `h` with a primitive member mixed in; `notShareable` for a value no part holds (a function, a symbol, a bigint). */
function mixValue(h: number, v: unknown): number {
  switch (typeof v) {
    case 'string':
      return mixText(mix(h, 1), v);
    case 'number':
      return mix(mix(h, 2), (v | 0) ^ Math.floor((v % 1) * 0x10000));
    case 'boolean':
      return mix(h, v ? 3 : 4);
    case 'undefined':
      return mix(h, 5);
    default:
      return v === null ? mix(h, 6) : notShareable;
  }
}

/**
 * Whether a shared part has exactly `node`'s content: same kind (array or record), same member
 * names in the same order, primitives the same (`Object.is`: 0 is not -0), and parts inside it
 * the same instance or of the same content themselves.
 */
function sameContent(shared: object, node: object, depth: number): boolean {
  if (Array.isArray(node)) {
    if (!Array.isArray(shared) || shared.length !== node.length) return false;
    for (let i = 0; i < node.length; i++) if (!sameMember(shared[i], node[i], depth)) return false;
    return true;
  }
  if (Array.isArray(shared)) return false;
  const ours = node as Record<string, unknown>;
  const keys = Object.keys(ours);
  const other = shared as Record<string, unknown>;
  // for-in: the shared part's own members in order (plain parts inherit no enumerable members),
  // without allocating its key list.
  let i = 0;
  for (const key in other) {
    if (key !== keys[i] || !sameMember(other[key], ours[key], depth)) return false;
    i++;
  }
  return i === keys.length;
}

/** One member of a shared part against the same member of a part being looked up. */
function sameMember(shared: unknown, v: unknown, depth: number): boolean {
  // Object.is spelled out: `===` compiles inline (Object.is is a call per member), and only
  // 0 against -0 and NaN against NaN need more.
  if (shared === v) return shared !== 0 || 1 / shared === 1 / (v as number);
  if (shared !== shared) return v !== v; // NaN
  if (shared === null || v === null || typeof shared !== 'object' || typeof v !== 'object') return false;
  return sameContent(shared, v, depth + 1);
}

/** One step of a 32-bit multiplicative hash. */
function mix(h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193) ^ (h >>> 15);
}

/** FNV-1a over a string's UTF-16 code units, then its length. */
function mixText(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h, s.length);
}

/** Arrays and plain records only (a Date, a Map or a class instance is never shared). */
function isPlain(node: object): boolean {
  if (Array.isArray(node)) return true;
  const proto: unknown = Object.getPrototypeOf(node);
  return proto === Object.prototype || proto === null;
}
