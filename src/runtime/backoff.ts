/**
 * The one backoff policy of the process: client-go's constants (reflector / wait.Backoff), 800 ms
 * initial, doubling, 30 s cap, jitter 1.0 (the wait is drawn from [d, 2d)), and a reset to the
 * initial delay once 2 minutes passed without a failure. Every retry loop (engine, console pushes,
 * state writes, start-up steps, change feeds, provider calls) uses it, with its own options at most.
 *
 * `backoffDelayMs` is the pure rule (the n-th consecutive failure); `Backoff` tracks failures on an
 * injected scheduler, so tests use virtual time. Neither throws; a provider's `retryAfterMs` hint
 * raises the wait, never lowers it.
 */
import type { SchedulerLike } from 'rxjs';

export interface BackoffOptions {
  initialMs: number;
  factor: number;
  capMs: number;
  /** 1.0 means the wait is drawn from [d, 2d). */
  jitter: number;
  /** After this long without a failure, the next failure starts again at `initialMs`. */
  resetAfterMs: number;
}

export const CLIENT_GO_BACKOFF: BackoffOptions = {
  initialMs: 800,
  factor: 2,
  capMs: 30_000,
  jitter: 1.0,
  resetAfterMs: 120_000,
};

/** The base delay (before jitter) of the `failures`-th consecutive failure (1 = the first). */
export function backoffBaseMs(failures: number, options: Partial<BackoffOptions> = {}): number {
  const o = { ...CLIENT_GO_BACKOFF, ...options };
  const n = Math.max(1, Math.floor(failures));
  let baseMs = o.initialMs;
  for (let i = 1; i < n && baseMs < o.capMs; i++) baseMs *= o.factor;
  return Math.min(o.capMs, baseMs);
}

/** The jittered wait after the `failures`-th consecutive failure. */
export function backoffDelayMs(
  failures: number,
  options: Partial<BackoffOptions> = {},
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const jitter = options.jitter ?? CLIENT_GO_BACKOFF.jitter;
  const baseMs = backoffBaseMs(failures, options);
  return Math.max(Math.round(baseMs + baseMs * jitter * random()), retryAfterMs ?? 0);
}

export class Backoff {
  private readonly options: BackoffOptions;
  private failures = 0;
  private lastFailureMs: number | undefined;

  constructor(
    options: Partial<BackoffOptions> = {},
    private readonly scheduler: SchedulerLike,
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...CLIENT_GO_BACKOFF, ...options };
  }

  private expired(now: number): boolean {
    return this.lastFailureMs !== undefined && now - this.lastFailureMs >= this.options.resetAfterMs;
  }

  /** Records a failure and returns how long to wait before retrying. */
  next(retryAfterMs?: number): number {
    const now = this.scheduler.now();
    if (this.expired(now)) this.failures = 0;
    this.lastFailureMs = now;
    this.failures++;
    return backoffDelayMs(this.failures, this.options, this.random, retryAfterMs);
  }

  /** A success: the next failure starts again at `initialMs`. */
  reset(): void {
    this.failures = 0;
    this.lastFailureMs = undefined;
  }

  /** Consecutive failures recorded (0 after a reset or the reset period). */
  get consecutiveFailures(): number {
    return this.expired(this.scheduler.now()) ? 0 : this.failures;
  }

  /** The base delay the next failure would start from (before jitter). */
  peekBaseMs(): number {
    return backoffBaseMs(this.consecutiveFailures + 1, this.options);
  }
}
