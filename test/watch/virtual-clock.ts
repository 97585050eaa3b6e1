/**
 * Virtual time for watch tests: an RxJS VirtualTimeScheduler advanced one due action at a time,
 * letting promise continuations run between actions (the engine awaits provider calls).
 */
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';

export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);

  now(): number {
    return this.scheduler.now();
  }

  /** Lets every pending promise continuation run. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.scheduler.frame + ms);
  }

  async advanceTo(target: number): Promise<void> {
    await this.settle();
    for (;;) {
      const next = this.scheduler.actions[0];
      if (!next || next.delay > target) break;
      this.scheduler.maxFrames = next.delay;
      this.scheduler.flush();
      await this.settle();
    }
    this.scheduler.maxFrames = Number.POSITIVE_INFINITY;
    if (this.scheduler.frame < target) this.scheduler.frame = target;
    await this.settle();
  }

  /** Scheduled actions still pending (timers). */
  get pendingActions(): number {
    return this.scheduler.actions.length;
  }
}
