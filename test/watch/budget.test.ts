import { describe, expect, it } from 'vitest';
import { CoreMetrics, createRegistry } from '../../src/runtime/metrics.js';
import { ApiBudget } from '../../src/watch/budget.js';
import { CLOUDTRAIL_BUCKETS } from '../../adapters/aws/limits.js';
import { ECS_BUCKETS } from '../../adapters/ecs/limits.js';
import { stretchedIntervalMs } from '../../src/watch/rate.js';
import { VirtualClock } from './virtual-clock.js';

function track(p: Promise<void>): { done: boolean } {
  const state = { done: false };
  void p.then(() => (state.done = true));
  return state;
}

describe('ApiBudget (virtual time)', () => {
  it('allows a quarter of the documented burst at once, then refills at a quarter of the documented rate', async () => {
    const clock = new VirtualClock();
    const budget = new ApiBudget(ECS_BUCKETS, 0.25, clock.scheduler);
    expect(budget.limitOf('ecs:cluster-resource-read')).toEqual({ burst: 25, refillPerSecond: 5 });
    const first = Array.from({ length: 25 }, () => track(budget.acquire('ecs:cluster-resource-read')));
    await clock.settle();
    expect(first.every((s) => s.done)).toBe(true);
    const next = track(budget.acquire('ecs:cluster-resource-read'));
    const after = track(budget.acquire('ecs:cluster-resource-read'));
    await clock.advance(199);
    expect(next.done).toBe(false);
    await clock.advance(1);
    expect(next.done).toBe(true);
    expect(after.done).toBe(false); // FIFO: the second waiter needs another 200 ms
    await clock.advance(200);
    expect(after.done).toBe(true);
    expect(budget.waitedMs('ecs:cluster-resource-read')).toBe(600);
  });

  it('serves a request larger than the burst once the bucket is full, and never limits unknown buckets', async () => {
    const clock = new VirtualClock();
    const budget = new ApiBudget(CLOUDTRAIL_BUCKETS, 1, clock.scheduler);
    const big = track(budget.acquire('cloudtrail:lookup-events', 2));
    await clock.settle();
    expect(big.done).toBe(true);
    const huge = track(budget.acquire('cloudtrail:lookup-events', 10));
    await clock.advance(999);
    expect(huge.done).toBe(false);
    await clock.advance(1);
    expect(huge.done).toBe(true);
    const free = track(budget.acquire('nobody:knows', 1000));
    await clock.settle();
    expect(free.done).toBe(true);
  });

  it('counts waited milliseconds in budgetWaitMs and keeps waiters when a bucket is redefined', async () => {
    const clock = new VirtualClock();
    const metrics = new CoreMetrics(createRegistry(false));
    const budget = new ApiBudget({ b: { burst: 1, refillPerSecond: 1 } }, 1, clock.scheduler, metrics);
    await budget.acquire('b');
    const waiter = track(budget.acquire('b'));
    budget.define('b', { burst: 1, refillPerSecond: 2 });
    await clock.advance(500);
    expect(waiter.done).toBe(true);
    const m = await metrics.budgetWaitMs.get();
    expect(m.values.find((v) => v.labels['bucket'] === 'b')?.value).toBe(500);
  });

  it('stretchedIntervalMs stretches a periodic job to fit the bucket rate', () => {
    const budget = new ApiBudget(ECS_BUCKETS, 0.25);
    // 5 tokens/s after the fraction: 100 calls need 20 s
    expect(stretchedIntervalMs(10_000, budget, 'ecs:cluster-resource-read', 100)).toBe(20_000);
    expect(stretchedIntervalMs(60_000, budget, 'ecs:cluster-resource-read', 100)).toBe(60_000);
    expect(stretchedIntervalMs(1_000, budget, 'unknown', 100)).toBe(1_000);
  });
});
