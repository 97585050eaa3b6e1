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
 */
import { GenerationalTable } from './generational-table.js';
import { reuseCanonicalJson } from './hash.js';
import { flatString, intern } from './intern.js';

const shareMinDepth = 2;
/**
 * Members of the payload record (depth 1) that identify the object and repeat nowhere else (a task
 * ARN, a revision name): interning them would only fill the table with strings seen once.
 */
const identityMembers = new Set(['uid', 'name', 'id']);
const shareMaxEntries = 64;
export const shareGenerationMaxEntries = 20_000;
const maxDepth = 32;
/** Parts whose description is longer are left alone (rarely repeated, costly to compare). */
const maxDescriptionLength = 4_096;

const table = new GenerationalTable<object>(shareGenerationMaxEntries);
/** The id of every shared part, so a parent's description can name its shared children. */
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
  let description: string | undefined =
    depth >= shareMinDepth && n <= shareMaxEntries ? (array ? '[' : '{') : undefined;
  for (let i = 0; i < n; i++) {
    const key = keys ? (keys[i] as string) : i;
    const v = record[key];
    let text: string | undefined;
    if (v !== null && typeof v === 'object') {
      const part = visit(v, depth + 1);
      if (part !== v) record[key] = part;
      const id = ids.get(part);
      text = id === undefined ? undefined : `o${id};`;
    } else if (description !== undefined) {
      text = textOf(v);
    }
    if (description !== undefined)
      description =
        text === undefined
          ? undefined
          : keys
            ? `${description}${(key as string).length}:${key}${text}`
            : description + text;
  }
  if (description !== undefined && description.length <= maxDescriptionLength) {
    const shared = table.get(description);
    if (shared !== undefined) {
      // Held by a second object now: worth keeping its canonical JSON for their hashes.
      reuseCanonicalJson(shared);
      return shared;
    }
  } else {
    description = undefined;
  }
  for (let i = 0; i < n; i++) {
    const key = keys ? (keys[i] as string) : i;
    const v = record[key];
    if (typeof v === 'string' && !(depth === 1 && identityMembers.has(key as string)))
      record[key] = intern(v);
  }
  if (description !== undefined) {
    table.set(flatString(description), node); // built piece by piece: a rope of ~20 pieces otherwise
    ids.set(node, nextId++);
  }
  return node;
}

/** A primitive member's text in its parent's description (undefined: not shareable). */
function textOf(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return `n${v};`;
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return 'u';
    default:
      return v === null ? 'z' : undefined;
  }
}

/** Arrays and plain records only (a Date, a Map or a class instance is never shared). */
function isPlain(node: object): boolean {
  if (Array.isArray(node)) return true;
  const proto: unknown = Object.getPrototypeOf(node);
  return proto === Object.prototype || proto === null;
}
