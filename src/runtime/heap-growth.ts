/**
 * How far the V8 old generation may grow past what survived the last major GC before the next one,
 * from `SIGHTLINE_HEAP_GROWING_PERCENT` (the Docker image sets it). Left to itself V8 picks a
 * factor between 1.1 and 4 from its GC and mutator speeds, and a watcher that allocates steadily
 * (polls, feed messages) gets a large one: at 100,000 ECS tasks + 5,000 revisions (about 140 MB
 * live) its resident set swung 60–100 MB above the live heap. A fixed percentage keeps it close, at
 * the price of more frequent major GCs (marked concurrently, on V8's helper threads).
 *
 * Node refuses this V8 flag in NODE_OPTIONS, so the daemon sets it itself, before it builds its
 * store (a flag set at runtime applies from the next major GC on).
 *
 * Failure: a value that is not a whole number from 1 to 400 is not applied; the caller is told why
 * (the daemon logs it and runs with V8's own factor).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT_ENV = 'SIGHTLINE_HEAP_GROWING_PERCENT';
const maxPercent = 400;

export type HeapGrowth = { applied: number } | { invalid: string } | undefined;

/** Applies `SIGHTLINE_HEAP_GROWING_PERCENT` from `env`; undefined when it is not set. */
export function applyHeapGrowth(env: NodeJS.ProcessEnv = process.env): HeapGrowth {
  const raw = env[HEAP_GROWING_PERCENT_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const percent = Number(raw.trim());
  if (!Number.isInteger(percent) || percent < 1 || percent > maxPercent)
    return {
      invalid: `${HEAP_GROWING_PERCENT_ENV} must be a whole number from 1 to ${maxPercent}, got "${raw}"`,
    };
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return { applied: percent };
}
