/**
 * Interval stretching: how often a periodic job may run so that its API calls fit in a budget
 * bucket's sustained rate. Pure arithmetic; never returns less than the requested interval.
 */
import type { ApiBudget } from './budget.js';

/**
 * `callsPerRun` calls every `intervalMs` must not exceed the bucket's refill rate (after the
 * budget's fraction); returns the interval stretched as needed. An unknown bucket is unlimited.
 */
export function stretchedIntervalMs(
  intervalMs: number,
  budget: ApiBudget,
  bucket: string,
  callsPerRun: number,
): number {
  const limit = budget.limitOf(bucket);
  if (!limit || limit.refillPerSecond <= 0 || callsPerRun <= 0) return intervalMs;
  const minMs = Math.ceil((callsPerRun / limit.refillPerSecond) * 1000);
  return Math.max(intervalMs, minMs);
}
