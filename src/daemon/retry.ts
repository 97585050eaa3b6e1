/**
 * Retries an async step forever with client-go's backoff (800 ms, ×2, 30 s cap, wait in [d, 2d)),
 * until it succeeds or `signal` aborts. Used where the daemon must not crash on a transient
 * provider failure during start-up (e.g. listing regions). Each failure is logged once.
 */
import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { delay } from '../runtime/clock.js';

export const retryInitialMs = 800;
export const retryCapMs = 30_000;

export async function retryForever<T>(
  what: string,
  step: () => Promise<T>,
  opts: { logger: Logger; scheduler: SchedulerLike; signal: AbortSignal; random?: () => number },
): Promise<T | undefined> {
  let waitMs = retryInitialMs;
  const random = opts.random ?? Math.random;
  for (;;) {
    if (opts.signal.aborted) return undefined;
    try {
      return await step();
    } catch (err) {
      const jitteredMs = waitMs * (1 + random());
      opts.logger.warn({ err, what, retryInMs: Math.round(jitteredMs) }, 'start-up step failed; retrying');
      await delay(jitteredMs, opts.scheduler);
      waitMs = Math.min(retryCapMs, waitMs * 2);
    }
  }
}
