import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelayMs } from '../../src/runtime/backoff.js';
import { VirtualClock } from '../watch/virtual-clock.js';

describe('Backoff (client-go constants)', () => {
  it('doubles from 800 ms to a 30 s cap, with jitter 1.0 drawing the wait from [d, 2d)', () => {
    const clock = new VirtualClock();
    const low = new Backoff({}, clock.scheduler, () => 0);
    expect(Array.from({ length: 8 }, () => low.next())).toEqual([
      800, 1600, 3200, 6400, 12800, 25600, 30000, 30000,
    ]);
    const high = new Backoff({}, clock.scheduler, () => 0.999);
    expect(high.next()).toBe(1599);
    expect(high.next()).toBe(3198);
  });

  it('resets to 800 ms after 2 minutes without failures, and honours retry-after', async () => {
    const clock = new VirtualClock();
    const b = new Backoff({}, clock.scheduler, () => 0);
    b.next();
    b.next();
    await clock.advance(119_999);
    expect(b.next()).toBe(3200);
    await clock.advance(120_000);
    expect(b.next()).toBe(800);
    expect(b.next(10_000)).toBe(10_000);
  });
});

describe('backoffDelayMs (the pure rule) and Backoff.reset', () => {
  it('gives the n-th failure the same wait as the n-th call of a Backoff', () => {
    const clock = new VirtualClock();
    const b = new Backoff({}, clock.scheduler, () => 0.5);
    for (let n = 1; n <= 9; n++) expect(b.next()).toBe(backoffDelayMs(n, {}, () => 0.5));
    expect(backoffDelayMs(3, { initialMs: 250, jitter: 0 })).toBe(1_000);
    expect(backoffDelayMs(0, {}, () => 0)).toBe(800);
    expect(backoffDelayMs(1, {}, () => 0, 5_000)).toBe(5_000);
  });

  it('reset() after a success starts the next failure at the initial delay', () => {
    const clock = new VirtualClock();
    const b = new Backoff({}, clock.scheduler, () => 0);
    b.next();
    b.next();
    expect(b.consecutiveFailures).toBe(2);
    b.reset();
    expect(b.consecutiveFailures).toBe(0);
    expect(b.peekBaseMs()).toBe(800);
    expect(b.next()).toBe(800);
  });
});
