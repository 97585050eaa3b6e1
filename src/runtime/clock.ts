/**
 * Time is injected everywhere: production code takes an RxJS SchedulerLike (whose `now()` is the
 * clock) so tests run on virtual time. `systemScheduler` is the real one.
 */
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';

export const systemScheduler: SchedulerLike = asyncScheduler;

/**
 * Waits `ms` on the given scheduler (virtual-time friendly). With `signal`, an abort ends the wait
 * early (resolves, never rejects) and cancels the scheduled action.
 */
export function delay(
  ms: number,
  scheduler: SchedulerLike = systemScheduler,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      action.unsubscribe();
      resolve();
    };
    const action = scheduler.schedule(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Multiplies `ms` by a factor drawn uniformly from [low, high) — e.g. the resync jitter [0.9, 1.1). */
export function jittered(ms: number, low: number, high: number, random: () => number = Math.random): number {
  return Math.round(ms * (low + (high - low) * random()));
}
