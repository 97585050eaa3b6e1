/**
 * String interning for objects the watcher keeps for a long time (the watch engine's store). A
 * fleet repeats the same cluster ids, namespaces, image references, digests, owner names and label
 * values across tens of thousands of workloads, and every provider response carries fresh copies:
 * interning keeps one copy of each.
 *
 * The table is bounded and generational (GenerationalTable): the strings a fleet repeats stay
 * shared for good, strings seen once (task ARNs, ids) age out, and churn cannot grow it. Objects
 * already interned keep their strings either way.
 */
import { GenerationalTable } from './generational-table.js';

export const internGenerationMaxEntries = 100_000;
/** Longer strings are rarely repeated (and cost more to hash than they save). */
const internMaxLength = 512;

const table = new GenerationalTable<string>(internGenerationMaxEntries, (_key, stored) => stored);

export function intern(s: string): string {
  if (s.length > internMaxLength) return s;
  const known = table.get(s);
  if (known !== undefined) return known;
  table.set(s, s);
  return s;
}

/** Entries in both generations (for tests and measurements). */
export function internTableSize(): number {
  return table.size;
}

/** Whether the table holds `s` (for tests and measurements). */
export function internTableHas(s: string): boolean {
  return table.has(s);
}

/** Any character outside Latin-1 (a string without one survives a Latin-1 round trip). */
const beyondLatin1 = /[\u0100-\uffff]/;
/** Scratch space for flattening keys (a key longer than this gets a buffer of its own). */
const flatScratch = Buffer.allocUnsafe(4096);

/**
 * `s` as one flat string. A string built by concatenation is a rope of its pieces in V8, and
 * whatever holds it keeps the whole rope: about 100 bytes more per string once it has been read
 * flat. Strings the watcher holds for a long time and cannot build flat are copied flat through a
 * reused buffer (no allocation but the string itself). Keys are built flat (`objectKey`).
 */
export function flatString(s: string): string {
  if (beyondLatin1.test(s)) return s;
  if (s.length > flatScratch.length) return Buffer.from(s, 'latin1').toString('latin1');
  const n = flatScratch.write(s, 0, 'latin1');
  return flatScratch.toString('latin1', 0, n);
}
