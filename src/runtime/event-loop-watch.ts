/**
 * Whether the event loop turns: a tick is scheduled every `tickMs` on the injected scheduler, and
 * `check()` reports a stall when the last tick is older than `stallMs` (a handler that blocks the
 * loop, a timer queue that no longer runs). Part of /livez; cheap (one timer per second).
 * `stop()` cancels the timer; the timer never keeps the process alive on its own.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import type { CheckResult } from './health.js';

export const EVENT_LOOP_TICK_MS = 1_000;
export const EVENT_LOOP_STALL_MS = 30_000;

export class EventLoopWatch {
  private lastTickMs: number;
  private timer: Subscription | undefined;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly tickMs: number = EVENT_LOOP_TICK_MS,
    private readonly stallMs: number = EVENT_LOOP_STALL_MS,
  ) {
    this.lastTickMs = scheduler.now();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastTickMs = this.scheduler.now();
    const tick = (): void => {
      this.lastTickMs = this.scheduler.now();
      this.timer = this.scheduler.schedule(tick, this.tickMs);
      unrefTimer(this.timer);
    };
    this.timer = this.scheduler.schedule(tick, this.tickMs);
    unrefTimer(this.timer);
  }

  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  check(): CheckResult {
    const lagMs = this.scheduler.now() - this.lastTickMs;
    if (lagMs <= this.stallMs) return { ok: true };
    return {
      ok: false,
      reason: `event loop stalled: no timer tick for ${lagMs} ms (limit ${this.stallMs} ms)`,
    };
  }
}

/** Lets the process exit while only this timer is pending (asyncScheduler actions hold a Node timer as `id`). */
function unrefTimer(sub: Subscription): void {
  const id = (sub as unknown as { id?: unknown }).id;
  if (id !== null && typeof id === 'object' && 'unref' in id && typeof id.unref === 'function') id.unref();
}
