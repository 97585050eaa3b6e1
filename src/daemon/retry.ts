/**
 * Retries an async step forever with the runtime backoff (`CLIENT_GO_BACKOFF`: 800 ms, ×2, 30 s cap,
 * wait in [d, 2d)), until it succeeds or `signal` aborts (checked before each attempt). Used where
 * the daemon must not crash on a transient provider failure during start-up (e.g. listing regions).
 * Each failure is logged once. Never rejects: an abort resolves undefined.
 */
import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { backoffDelayMs } from '../runtime/backoff.js';
import { delay } from '../runtime/clock.js';

export async function retryForever<T>(
  what: string,
  step: () => Promise<T>,
  opts: { logger: Logger; scheduler: SchedulerLike; signal: AbortSignal; random?: () => number },
): Promise<T | undefined> {
  const random = opts.random ?? Math.random;
  let failures = 0;
  for (;;) {
    if (opts.signal.aborted) return undefined;
    try {
      return await step();
    } catch (err) {
      failures += 1;
      const retryInMs = backoffDelayMs(failures, {}, random);
      opts.logger.warn({ err, what, retryInMs }, 'start-up step failed; retrying');
      await delay(retryInMs, opts.scheduler);
    }
  }
}
