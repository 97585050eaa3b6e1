import { describe, expect, it } from 'vitest';
import { Timers } from '../../src/runtime/timers.js';
import { VirtualClock } from '../watch/virtual-clock.js';

describe('Timers (the one sleep/wake helper)', () => {
  it('a sleep ends when its time elapses on the injected scheduler', async () => {
    const clock = new VirtualClock();
    const timers = new Timers(clock.scheduler);
    let reason: string | undefined;
    void timers.sleep(1_000).then((r) => (reason = r));
    await clock.advance(999);
    expect(reason).toBeUndefined();
    await clock.advance(1);
    expect(reason).toBe('elapsed');
    expect(timers.active).toBe(0);
  });

  it('wake() ends pending sleeps early and cancels their scheduled actions', async () => {
    const clock = new VirtualClock();
    const timers = new Timers(clock.scheduler);
    const reasons: string[] = [];
    void timers.sleep(60_000).then((r) => reasons.push(r));
    void timers.sleep().then((r) => reasons.push(r));
    await clock.settle();
    timers.wake();
    await clock.settle();
    expect(reasons).toEqual(['woken', 'woken']);
    expect(clock.pendingActions).toBe(0);
    expect(timers.active).toBe(0);
  });

  it('a wake with nobody asleep is kept for the next sleep (no lost wake-up), once', async () => {
    const clock = new VirtualClock();
    const timers = new Timers(clock.scheduler);
    timers.wake();
    expect(await timers.sleep(10_000)).toBe('woken');
    let second: string | undefined;
    void timers.sleep(10_000).then((r) => (second = r));
    await clock.advance(5_000);
    expect(second).toBeUndefined();
    await clock.advance(5_000);
    expect(second).toBe('elapsed');
  });

  it('cancelAll resolves every sleep, clears named timers, and later sleeps return at once', async () => {
    const clock = new VirtualClock();
    const timers = new Timers(clock.scheduler);
    let fired = 0;
    timers.set('tick', 1_000, () => fired++);
    const pending = timers.sleep();
    timers.cancelAll();
    expect(await pending).toBe('cancelled');
    expect(await timers.sleep(5_000)).toBe('cancelled');
    await clock.advance(2_000);
    expect(fired).toBe(0);
    expect(timers.isSet('tick')).toBe(false);
    expect(clock.pendingActions).toBe(0);
  });

  it('re-arming a named timer replaces the earlier one', async () => {
    const clock = new VirtualClock();
    const timers = new Timers(clock.scheduler);
    const fired: string[] = [];
    timers.set('t', 1_000, () => fired.push('first'));
    timers.set('t', 2_000, () => fired.push('second'));
    await clock.advance(3_000);
    expect(fired).toEqual(['second']);
  });
});
