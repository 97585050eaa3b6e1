/**
 * The one wrapper every provider API call goes through: it takes a token from the API budget
 * bucket of the operation, makes the call, and counts it in
 * `sightline_api_calls_total{provider, operation, outcome}` (outcome `ok`, a failure outcome, plus
 * `retried` for each attempt the provider's SDK made on its own). What is provider-specific (bucket
 * names, throttling detection, outcome labels, error mapping) comes in an `ApiCallPolicy`, so this
 * file knows no provider.
 *
 * Failure: a throttled call waits `backoffDelayMs` (the runtime backoff, with the policy's options)
 * on the injected scheduler, takes budget again and is retried up to `throttleRetries` times; then
 * it is thrown as `ThrottledError` (the engine backs off without relisting). Any other error is
 * thrown at once, as `mapError` makes it (default: unchanged).
 */
import type { SchedulerLike } from 'rxjs';
import { backoffDelayMs } from '../runtime/backoff.js';
import type { BackoffOptions } from '../runtime/backoff.js';
import { delay } from '../runtime/clock.js';
import { redactSecrets } from '../runtime/logger.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import type { ApiBudget } from '../watch/budget.js';
import { ThrottledError, isThrottling } from '../watch/source.js';

export interface ApiCallDeps {
  budget: Pick<ApiBudget, 'acquire'>;
  metrics: Pick<CoreMetrics, 'apiCalls'>;
  scheduler: SchedulerLike;
}

export interface ApiCallPolicy {
  /** The `provider` label of the call metrics. */
  readonly provider: string;
  /** The budget bucket the operation takes its token from. */
  bucketOf(operation: string): string;
  /** Throttled calls are retried this many times before surfacing (0: surface at once). */
  readonly throttleRetries: number;
  /** Options of the wait between throttled attempts (the runtime backoff's defaults otherwise). */
  readonly throttleBackoff?: Partial<BackoffOptions>;
  /** Whether `err` is provider throttling (default: `isThrottling`). */
  isThrottled?(err: unknown): boolean;
  /** The metrics outcome of a failed call (default: `throttled` or `error`). */
  outcomeOf?(err: unknown, throttled: boolean): string;
  /** The error to throw for a failure that is not throttling (default: `err` itself). */
  mapError?(operation: string, err: unknown): unknown;
  /** The message of the ThrottledError (default: operation, error name and redacted message). */
  throttledMessage?(operation: string, err: unknown): string;
  /** Attempts the SDK made beyond the first for a successful call (default: 0). */
  extraAttempts?(result: unknown): number;
}

function defaultThrottledMessage(operation: string, err: unknown): string {
  const name = err instanceof Error ? err.name : 'Error';
  const message = redactSecrets(err instanceof Error ? err.message : String(err));
  return `${operation}: ${name}: ${message}`;
}

/** Makes one provider API call under `policy` (see the file comment for the contract). */
export async function apiCall<T>(
  deps: ApiCallDeps,
  policy: ApiCallPolicy,
  operation: string,
  send: () => Promise<T>,
  random: () => number = Math.random,
): Promise<T> {
  const { provider } = policy;
  for (let attempt = 0; ; attempt++) {
    await deps.budget.acquire(policy.bucketOf(operation));
    try {
      const out = await send();
      deps.metrics.apiCalls.inc({ provider, operation, outcome: 'ok' });
      const extra = policy.extraAttempts?.(out) ?? 0;
      if (extra > 0) deps.metrics.apiCalls.inc({ provider, operation, outcome: 'retried' }, extra);
      return out;
    } catch (err) {
      const throttled = (policy.isThrottled ?? isThrottling)(err);
      const outcome = policy.outcomeOf?.(err, throttled) ?? (throttled ? 'throttled' : 'error');
      deps.metrics.apiCalls.inc({ provider, operation, outcome });
      if (!throttled) throw policy.mapError ? policy.mapError(operation, err) : err;
      if (attempt >= policy.throttleRetries) {
        const message = (policy.throttledMessage ?? defaultThrottledMessage)(operation, err);
        const retryAfterMs = err instanceof ThrottledError ? err.retryAfterMs : undefined;
        throw new ThrottledError(message, retryAfterMs);
      }
      // The bucket shared with the customer is empty: wait, then take a budget token again.
      await delay(backoffDelayMs(attempt + 1, policy.throttleBackoff, random), deps.scheduler);
    }
  }
}
