/**
 * Content hashes and stable ids. `contentHash` is computed over a canonical JSON form (keys sorted,
 * undefined dropped), so two objects that differ only in key order or absent optional fields hash
 * alike: later stages use it to tell "changed" from "seen again".
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortValue(value));
}

function sortValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortValue(v);
    }
    return out;
  }
  return value;
}

/** A short (128-bit, base64url) SHA-256 of the canonical JSON form. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url').slice(0, 22);
}

/** A stable id from parts: the same parts always give the same id, across processes and restarts. */
export function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}
