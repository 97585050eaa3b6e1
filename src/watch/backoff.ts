/**
 * Exponential backoff with client-go's constants (reflector / wait.Backoff): 800 ms initial, doubling,
 * 30 s cap, jitter 1.0 (the wait is drawn from [d, 2d)), and a reset to the initial delay once
 * 2 minutes passed without a failure. Time comes from the injected scheduler, so tests use virtual
 * time. `next()` never throws; a provider's `retryAfterMs` hint raises the wait, never lowers it.
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

export class Backoff {
  private readonly options: BackoffOptions;
  private nextBaseMs: number;
  private lastFailureMs: number | undefined;

  constructor(
    options: Partial<BackoffOptions> = {},
    private readonly scheduler: SchedulerLike,
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...CLIENT_GO_BACKOFF, ...options };
    this.nextBaseMs = this.options.initialMs;
  }

  /** Records a failure and returns how long to wait before retrying. */
  next(retryAfterMs?: number): number {
    const now = this.scheduler.now();
    if (this.lastFailureMs !== undefined && now - this.lastFailureMs >= this.options.resetAfterMs) {
      this.nextBaseMs = this.options.initialMs;
    }
    this.lastFailureMs = now;
    const baseMs = this.nextBaseMs;
    this.nextBaseMs = Math.min(this.options.capMs, baseMs * this.options.factor);
    const waitMs = Math.round(baseMs + baseMs * this.options.jitter * this.random());
    return Math.max(waitMs, retryAfterMs ?? 0);
  }

  /** The base delay the next failure would start from (before jitter). */
  peekBaseMs(): number {
    const now = this.scheduler.now();
    if (this.lastFailureMs !== undefined && now - this.lastFailureMs >= this.options.resetAfterMs) {
      return this.options.initialMs;
    }
    return this.nextBaseMs;
  }
}
