/**
 * How every AWS API call goes through the kit's `apiCall`: the call metrics carry the provider's
 * label (`ECS`, a later `LAMBDA`) and the AWS operation name; the SDK's own attempts beyond the
 * first count as `retried`; throttling (`ThrottlingException`, `TooManyRequestsException`, after
 * the SDK's own retries) waits 250 ms doubling on the injected scheduler and takes budget again,
 * up to AWS_THROTTLE_RETRIES times, then surfaces as ThrottledError.
 *
 * Failure: any other error is thrown at once as `AwsCallError`, carrying the AWS error name (as
 * its `name`, so `ClusterNotFoundException` checks keep working) and a redacted message.
 */
import { apiCall } from '../../src/provider/api-call.js';
import type { ApiCallDeps, ApiCallPolicy } from '../../src/provider/api-call.js';
import { redactSecrets } from '../../src/runtime/logger.js';
import { CLOUDTRAIL_BUCKET } from './limits.js';

/** Throttled calls are retried this many times (each waiting for budget again) before surfacing. */
const AWS_THROTTLE_RETRIES = 3;

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

function sdkExtraAttempts(result: unknown): number {
  if (result === null || typeof result !== 'object') return 0;
  const attempts = (result as { $metadata?: { attempts?: unknown } }).$metadata?.attempts;
  return typeof attempts === 'number' ? attempts - 1 : 0;
}

/** The call policy of one AWS provider: its metrics label and its operation -> bucket map. */
export function awsCallPolicy(provider: string, bucketOf: (operation: string) => string): ApiCallPolicy {
  return {
    provider,
    bucketOf: (operation) => (operation === 'LookupEvents' ? CLOUDTRAIL_BUCKET : bucketOf(operation)),
    throttleRetries: AWS_THROTTLE_RETRIES,
    throttleBackoff: { initialMs: 250, jitter: 0 },
    extraAttempts: sdkExtraAttempts,
    mapError: (operation, err) => {
      const name = err instanceof Error ? err.name : 'Error';
      const message = redactSecrets(err instanceof Error ? err.message : String(err));
      return new AwsCallError(operation, name, message);
    },
  };
}

/** An AWS call under `policy` (see the file comment). */
export function callAws<R>(
  deps: ApiCallDeps,
  policy: ApiCallPolicy,
  operation: string,
  send: () => Promise<R>,
): Promise<R> {
  return apiCall(deps, policy, operation, send);
}
