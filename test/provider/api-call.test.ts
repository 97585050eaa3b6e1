import { describe, expect, it } from 'vitest';
import { apiCall } from '../../src/provider/api-call.js';
import type { ApiCallPolicy } from '../../src/provider/api-call.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { ApiBudget } from '../../src/watch/budget.js';
import { ThrottledError } from '../../src/watch/source.js';
import { VirtualClock } from '../watch/virtual-clock.js';

class Throttling extends Error {
  constructor() {
    super('Rate exceeded');
    this.name = 'ThrottlingException';
  }
}

const policy: ApiCallPolicy = {
  provider: 'TEST',
  bucketOf: (op) => (op === 'Lookup' ? 'lookup' : 'read'),
  throttleRetries: 2,
  throttleBackoff: { initialMs: 250, jitter: 0 },
  extraAttempts: (r) => (r as { attempts?: number }).attempts ?? 0,
};

function setup() {
  const clock = new VirtualClock();
  const registry = new Registry();
  const metrics = new CoreMetrics(registry);
  const budget = new ApiBudget({ read: { burst: 1, refillPerSecond: 1 } }, 1, clock.scheduler);
  const deps = { budget, metrics, scheduler: clock.scheduler };
  const outcomes = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const v of (await metrics.apiCalls.get()).values) {
      out[`${String(v.labels['operation'])}:${String(v.labels['outcome'])}`] = v.value;
    }
    return out;
  };
  return { clock, deps, budget, outcomes };
}

describe('apiCall (budget, retry, throttling, metrics)', () => {
  it('takes a budget token per call and counts ok and the SDK retries', async () => {
    const { clock, deps, outcomes } = setup();
    const first = await apiCall(deps, policy, 'Describe', () => Promise.resolve({ attempts: 2 }));
    expect(first.attempts).toBe(2);
    let second = false;
    void apiCall(deps, policy, 'Describe', () => Promise.resolve({})).then(() => (second = true));
    await clock.advance(999);
    expect(second).toBe(false); // the bucket of 1 per second is empty until 1 s passed
    await clock.advance(1);
    expect(second).toBe(true);
    expect(await outcomes()).toEqual({ 'Describe:ok': 2, 'Describe:retried': 2 });
  });

  it('retries throttling with the runtime backoff, then surfaces ThrottledError', async () => {
    const { clock, deps, outcomes } = setup();
    const callTimes: number[] = [];
    let result: unknown;
    void apiCall(deps, policy, 'Lookup', () => {
      callTimes.push(clock.now());
      return Promise.reject(new Throttling());
    }).catch((err: unknown) => (result = err));
    await clock.advance(10_000);
    expect(callTimes).toEqual([0, 250, 750]);
    expect(result).toBeInstanceOf(ThrottledError);
    expect(String((result as Error).message)).toMatch(/^Lookup: ThrottlingException: Rate exceeded/);
    expect(await outcomes()).toEqual({ 'Lookup:throttled': 3 });
  });

  it('a throttled call that then succeeds returns its result', async () => {
    const { clock, deps } = setup();
    let n = 0;
    let result: string | undefined;
    void apiCall(deps, policy, 'Lookup', () =>
      ++n === 1 ? Promise.reject(new Throttling()) : Promise.resolve('ok'),
    ).then((r) => (result = r));
    await clock.advance(250);
    expect(result).toBe('ok');
  });

  it('any other error is thrown at once through mapError, with the policy outcome', async () => {
    const { deps, outcomes } = setup();
    const mapped: ApiCallPolicy = {
      ...policy,
      outcomeOf: (err, throttled) => (throttled ? 'throttled' : `failed-${(err as Error).name}`),
      mapError: (op, err) => new Error(`${op} mapped: ${(err as Error).message}`),
    };
    let calls = 0;
    await expect(
      apiCall(deps, mapped, 'Describe', () => {
        calls++;
        return Promise.reject(new TypeError('boom'));
      }),
    ).rejects.toThrow('Describe mapped: boom');
    expect(calls).toBe(1);
    expect(await outcomes()).toEqual({ 'Describe:failed-TypeError': 1 });
  });

  it('throttleRetries 0 surfaces the first throttle at once', async () => {
    const { deps } = setup();
    await expect(
      apiCall(deps, { ...policy, throttleRetries: 0 }, 'Lookup', () => Promise.reject(new Throttling())),
    ).rejects.toBeInstanceOf(ThrottledError);
  });
});
