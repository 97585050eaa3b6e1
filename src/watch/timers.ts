/**
 * Cancellable waits and timers on an injected scheduler (virtual-time friendly). `cancelAll()`
 * unsubscribes every timer and resolves every pending sleep at once, so stopping never leaves a
 * scheduled action or a dangling promise behind.
 */
import type { SchedulerLike, Subscription } from 'rxjs';

interface Sleeper {
  sub: Subscription | undefined;
  resolve: () => void;
}

export class Timers {
  private readonly sleepers = new Set<Sleeper>();
  private readonly named = new Map<string, Subscription>();
  private cancelled = false;

  constructor(private readonly scheduler: SchedulerLike) {}

  /** Resolves after `ms`, or at once when cancelled. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.cancelled) {
        resolve();
        return;
      }
      const s: Sleeper = { sub: undefined, resolve };
      this.sleepers.add(s);
      s.sub = this.scheduler.schedule(
        () => {
          this.sleepers.delete(s);
          resolve();
        },
        Math.max(0, ms),
      );
      if (s.sub.closed) this.sleepers.delete(s);
    });
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

  cancelAll(): void {
    this.cancelled = true;
    for (const sub of this.named.values()) sub.unsubscribe();
    this.named.clear();
    for (const s of this.sleepers) {
      s.sub?.unsubscribe();
      s.resolve();
    }
    this.sleepers.clear();
  }
}
