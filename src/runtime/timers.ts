/**
 * The one sleep/wake helper: cancellable waits and named timers on an injected scheduler
 * (virtual-time friendly). A loop that sleeps between rounds is woken early by `wake()` (new work
 * arrived: a subscriber, a hint, a stream event); `sleep()` without a duration waits for that wake
 * alone and schedules nothing. `cancelAll()` unsubscribes every timer and resolves every pending
 * sleep at once, and every later sleep resolves immediately, so stopping never leaves a scheduled
 * action or a dangling promise behind.
 *
 * Never throws; a sleep resolves with why it ended.
 */
import type { SchedulerLike, Subscription } from 'rxjs';

export type WakeReason = 'elapsed' | 'woken' | 'cancelled';

interface Sleeper {
  sub: Subscription | undefined;
  resolve: (reason: WakeReason) => void;
}

export class Timers {
  private readonly sleepers = new Set<Sleeper>();
  private readonly named = new Map<string, Subscription>();
  private cancelled = false;
  private pendingWake = false;

  constructor(private readonly scheduler: SchedulerLike) {}

  /**
   * Resolves after `ms` ('elapsed'), at the next `wake()` ('woken') or at once when cancelled.
   * Without `ms` it waits for a wake or cancel only. A wake that came while nobody slept is kept
   * for the next sleep (no lost wake-up).
   */
  sleep(ms?: number): Promise<WakeReason> {
    return new Promise((resolve) => {
      if (this.cancelled) {
        resolve('cancelled');
        return;
      }
      if (this.pendingWake) {
        this.pendingWake = false;
        resolve('woken');
        return;
      }
      const s: Sleeper = { sub: undefined, resolve };
      this.sleepers.add(s);
      if (ms === undefined) return;
      s.sub = this.scheduler.schedule(
        () => {
          this.sleepers.delete(s);
          resolve('elapsed');
        },
        Math.max(0, ms),
      );
      if (s.sub.closed) this.sleepers.delete(s);
    });
  }

  /** Ends every pending sleep early; with none pending, the next sleep returns at once. */
  wake(): void {
    if (this.sleepers.size === 0) {
      this.pendingWake = true;
      return;
    }
    for (const s of this.sleepers) {
      s.sub?.unsubscribe();
      s.resolve('woken');
    }
    this.sleepers.clear();
  }

  /** (Re)arms the timer named `name`; an armed timer of that name is cancelled first. */
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    if (this.cancelled) return;
    let fired = false;
    const sub = this.scheduler.schedule(
      () => {
        fired = true;
        this.named.delete(name);
        fn();
      },
      Math.max(0, ms),
    );
    if (!fired) this.named.set(name, sub);
  }

  clear(name: string): void {
    const sub = this.named.get(name);
    if (sub) {
      sub.unsubscribe();
      this.named.delete(name);
    }
  }

  isSet(name: string): boolean {
    return this.named.has(name);
  }

  /** Number of armed timers and sleeps (for leak tests). */
  get active(): number {
    return this.named.size + this.sleepers.size;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  cancelAll(): void {
    this.cancelled = true;
    for (const sub of this.named.values()) sub.unsubscribe();
    this.named.clear();
    for (const s of this.sleepers) {
      s.sub?.unsubscribe();
      s.resolve('cancelled');
    }
    this.sleepers.clear();
  }
}
