/**
 * Exponential backoff with jitter for console pushes: the n-th consecutive failure waits
 * min(initialMs · 2^(n-1), maxMs) multiplied by a factor in [1, 2) (client-go's jitter 1.0).
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 800, maxMs: 30_000 };

export function backoffDelayMs(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, failures);
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(n - 1, 30));
  return Math.round(base * (1 + random()));
}
