/**
 * String interning for objects the watcher keeps for a long time (the watch engine's store). A
 * fleet repeats the same cluster ids, namespaces, image references, digests, owner names and label
 * values across tens of thousands of workloads, and every provider response carries fresh copies:
 * interning keeps one copy of each. The table is bounded (`internTableMaxEntries`): when full it
 * starts afresh, so churn (task ids that never come back) cannot grow it without limit; objects
 * already interned keep their shared strings.
 */
export const internTableMaxEntries = 200_000;
/** Longer strings are rarely repeated (and cost more to hash than they save). */
export const internMaxLength = 512;

let table = new Map<string, string>();

export function intern(s: string): string {
  if (s.length > internMaxLength) return s;
  const known = table.get(s);
  if (known !== undefined) return known;
  if (table.size >= internTableMaxEntries) table = new Map();
  table.set(s, s);
  return s;
}

/**
 * Replaces, in place, every string value in a tree of plain objects and arrays by its interned
 * copy, and returns the same object (identity is kept: adapters key per-object facts on it).
 */
export function internStrings<T>(value: T): T {
  walk(value, 0);
  return value;
}

const maxDepth = 32;

function walk(node: unknown, depth: number): void {
  if (depth > maxDepth || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i];
      if (typeof v === 'string') node[i] = intern(v);
      else if (v !== null && typeof v === 'object') walk(v, depth + 1);
    }
    return;
  }
  const record = node as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (typeof v === 'string') record[key] = intern(v);
    else if (v !== null && typeof v === 'object') walk(v, depth + 1);
  }
}
