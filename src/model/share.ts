/**
 * Interning of whole objects the watcher keeps for a long time (the watch engine's store): every
 * string is interned (intern.ts), and the repeated parts of an object (an owner reference, a
 * container and its image, a labels map, an owners list) are replaced by one shared copy. At
 * 100,000 ECS tasks the tasks of one service carry identical owners, containers and images; sharing
 * them saves about 300 bytes per task.
 *
 * Strings are interned everywhere except the members that identify an object (`uid`, `name`, `id`
 * of its payload record), which repeat nowhere else.
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
 * Lookup: a part is found by a 32-bit hash of its members (names, primitive values, the ids of its
 * shared children), computed without building a string, and confirmed member by member (`===`:
 * the same names in the same order, equal primitives, the same shared children), so a hash
 * collision can never share unequal parts (nor 0 with -0).
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
 * The id of every shared part, so a parent's hash can name its shared children; negative once the
 * part is held by a second object (its hash digest is kept from then on).
 */
const ids = new WeakMap<object, number>();
let nextId = 1;

/**
 * Interns every string in a tree of plain objects and arrays and shares its repeated parts, in
 * place; returns the same object.
 */
export function internObject<T>(value: T): T {
  if (value !== null && typeof value === 'object') visit(value, 0);
  return value;
}

/** Shared parts in the table (for tests and measurements). */
export function sharedPartCount(): number {
  return table.size;
}

/**
 * Returns the node `node`'s parent should hold: the shared copy of an equal part, or `node` itself
 * with its strings interned and its object members replaced by their shared copies. A part found
 * shared is taken as it is (its strings were interned when it was first kept).
 */
function visit(node: object, depth: number): object {
  if (depth > maxDepth || !isPlain(node)) return node;
  // Already a shared part (an adapter handed the same instance again): nothing to do below it.
  if (ids.has(node)) return node;
  const record = node as Record<string, unknown>;
  const array = Array.isArray(node) ? (node as unknown[]) : undefined;
  const keys = array ? undefined : Object.keys(record);
  const n = array ? array.length : (keys as string[]).length;
  let shareable = depth >= shareMinDepth && n <= shareMaxEntries;
  let h = array ? 0x2f6b3c1d : 0x5a17e9b3;
  let text = 0;
  for (let i = 0; i < n; i++) {
    const key = keys ? (keys[i] as string) : i;
    const v = record[key];
    if (v !== null && typeof v === 'object') {
      const part = visit(v, depth + 1);
      if (part !== v) record[key] = part;
      if (!shareable) continue;
      const id = ids.get(part);
      if (id === undefined) {
        shareable = false;
        continue;
      }
      h = mix(h, 7);
      h = mix(h, id < 0 ? -id : id);
    } else if (!shareable) {
      continue;
    } else {
      switch (typeof v) {
        case 'string':
          h = mixText(mix(h, 1), v);
          text += v.length;
          break;
        case 'number':
          h = mix(mix(h, 2), (v | 0) ^ Math.floor((v % 1) * 0x10000));
          break;
        case 'boolean':
          h = mix(h, v ? 3 : 4);
          break;
        case 'undefined':
          h = mix(h, 5);
          break;
        default:
          if (v === null) h = mix(h, 6);
          else shareable = false;
      }
    }
    if (keys) {
      h = mixText(mix(h, 8), key as string);
      text += (key as string).length;
    }
  }
  if (shareable && text > maxTextLength) shareable = false;
  const slot = h & 0x3fffffff;
  let candidates: object[] | undefined;
  if (shareable) {
    candidates = table.get(slot);
    if (candidates !== undefined) {
      for (const shared of candidates) {
        if (!sameMembers(shared, record, keys, array)) continue;
        const id = ids.get(shared) as number;
        if (id > 0) {
          // Held by a second object now: worth keeping its digest for their hashes.
          rememberPartDigest(shared);
          ids.set(shared, -id);
        }
        return shared;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const key = keys ? (keys[i] as string) : i;
    const v = record[key];
    if (typeof v === 'string' && !(depth === 1 && identityMembers.has(key as string)))
      record[key] = intern(v);
  }
  if (shareable) {
    if (candidates === undefined) table.set(slot, [node]);
    else if (candidates.length < maxCandidates) candidates.push(node);
    else return node;
    ids.set(node, nextId++);
  }
  return node;
}

/** Whether a shared part has exactly `record`'s members: same names in the same order, values the same (`Object.is`: 0 is not -0). */
function sameMembers(
  shared: object,
  record: Record<string, unknown>,
  keys: string[] | undefined,
  array: unknown[] | undefined,
): boolean {
  if (array) {
    if (!Array.isArray(shared) || shared.length !== array.length) return false;
    for (let i = 0; i < array.length; i++) if (!Object.is(shared[i], array[i])) return false;
    return true;
  }
  if (Array.isArray(shared)) return false;
  const ours = keys as string[];
  const other = shared as Record<string, unknown>;
  // for-in: the shared part's own members in order (plain parts inherit no enumerable members),
  // without allocating its key list.
  let i = 0;
  for (const key in other) {
    if (key !== ours[i] || !Object.is(other[key], record[key])) return false;
    i++;
  }
  return i === ours.length;
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
