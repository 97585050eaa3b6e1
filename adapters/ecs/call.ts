/**
 * Every ECS / CloudTrail call goes through `callAws`: it waits for the API budget bucket of the
 * action, makes the call, and counts `metrics.apiCalls{provider:'ECS', operation, outcome}` (outcome
 * ok | throttled | error, plus `retried` for each extra SDK attempt).
 *
 * Failure: a throttled call (after the SDK's own retries) waits with backoff on the injected
 * scheduler, takes budget again and is retried up to THROTTLE_RETRIES times; then it is rethrown as
 * ThrottledError (the engine backs off without relisting). Any other error is rethrown at once with
 * its AWS error name and a redacted message.
 */
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { delay } from '../../src/runtime/clock.js';
import { redactSecrets } from '../../src/runtime/logger.js';
import { ThrottledError, isThrottling } from '../../src/watch/source.js';
import { ecsBucketFor } from './limits.js';

export const CLOUDTRAIL_BUCKET = 'cloudtrail:lookup-events';

export type CallDeps = Pick<ProviderDeps, 'budget' | 'metrics' | 'scheduler'>;

export class AwsCallError extends Error {
  constructor(
    readonly operation: string,
    readonly code: string,
    message: string,
  ) {
    super(`${operation} failed: ${code}: ${message}`);
    this.name = code;
  }
}

export function bucketOf(operation: string): string {
  return operation === 'LookupEvents' ? CLOUDTRAIL_BUCKET : ecsBucketFor(operation);
}

/** Throttled calls are retried this many times (each waiting for budget again) before surfacing. */
export const THROTTLE_RETRIES = 3;
const THROTTLE_RETRY_BASE_MS = 250;

export async function callAws<R extends { $metadata?: { attempts?: number } }>(
  deps: CallDeps,
  operation: string,
  send: () => Promise<R>,
): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    await deps.budget.acquire(bucketOf(operation));
    try {
      const out = await send();
      deps.metrics.apiCalls.inc({ provider: 'ECS', operation, outcome: 'ok' });
      const extra = (out.$metadata?.attempts ?? 1) - 1;
      if (extra > 0) deps.metrics.apiCalls.inc({ provider: 'ECS', operation, outcome: 'retried' }, extra);
      return out;
    } catch (err) {
      const throttled = isThrottling(err);
      deps.metrics.apiCalls.inc({ provider: 'ECS', operation, outcome: throttled ? 'throttled' : 'error' });
      const name = err instanceof Error ? err.name : 'Error';
      const message = redactSecrets(err instanceof Error ? err.message : String(err));
      if (!throttled) throw new AwsCallError(operation, name, message);
      if (attempt >= THROTTLE_RETRIES) throw new ThrottledError(`${operation}: ${name}: ${message}`);
      // The bucket we share with the customer is empty: wait, then take a budget token again.
      await delay(THROTTLE_RETRY_BASE_MS * 2 ** attempt, deps.scheduler);
    }
  }
}

/** Splits `items` into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
