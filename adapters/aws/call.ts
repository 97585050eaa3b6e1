/**
 * How every AWS API call goes through the kit's `apiCall`: the call metrics carry the provider's
 * label (`ECS`, a later `LAMBDA`) and the AWS operation name; the SDK's own attempts beyond the
 * first count as `retried`; throttling (`ThrottlingException`, `TooManyRequestsException`, after
 * the SDK's own retries) waits 250 ms doubling on the injected scheduler and takes budget again,
 * up to AWS_THROTTLE_RETRIES times, then surfaces as ThrottledError.
 *
 * Failure: any other error is thrown at once as `AwsCallError`, carrying the AWS error name (as
 * its `name`, so `ClusterNotFoundException` checks keep working) and a redacted message. A refusal
 * for a missing IAM permission (`AccessDeniedException`, `AccessDenied`, `UnauthorizedOperation`,
 * or a `ClientException` saying "is not authorized to perform") also carries `permissionDenied`
 * and the `permission` (`ecs:ListContainerInstances`, read from AWS's message "… is not authorized
 * to perform: ecs:X on resource: …", else `<service>:<Operation>`), which `deniedPermission` reads:
 * the watch engine then treats the source as denied instead of retrying it with backoff.
 */
import { apiCall } from '../../src/provider/api-call.js';
import type { ApiCallDeps, ApiCallPolicy } from '../../src/provider/api-call.js';
import { redactSecrets } from '../../src/runtime/logger.js';
import { CLOUDTRAIL_BUCKET, SQS_BUCKET, SQS_OPERATIONS } from './limits.js';

/** Throttled calls are retried this many times (each waiting for budget again) before surfacing. */
const AWS_THROTTLE_RETRIES = 3;

export class AwsCallError extends Error {
  /** True when AWS refused the call for a missing IAM permission, then named by `permission`. */
  readonly permissionDenied: boolean;
  constructor(
    readonly operation: string,
    readonly code: string,
    message: string,
    readonly permission?: string,
  ) {
    super(`${operation} failed: ${code}: ${message}`);
    this.name = code;
    this.permissionDenied = permission !== undefined;
  }
}

/** AWS error names that always mean "the caller lacks a permission". */
const DENIED_NAMES: ReadonlySet<string> = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
]);
/** The action in AWS's denial: "User: arn:… is not authorized to perform: ecs:X on resource: …". */
const NOT_AUTHORIZED = /is not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9*]+)/;

/**
 * The IAM permission an AWS error says the caller lacks, or undefined when it is no such refusal.
 * `service` is the IAM prefix of the operation (`ecs`, `cloudtrail`).
 */
export function awsDeniedPermission(
  name: string,
  message: string,
  service: string,
  operation: string,
): string | undefined {
  const named = NOT_AUTHORIZED.exec(message)?.[1];
  if (DENIED_NAMES.has(name)) return named ?? `${service}:${operation}`;
  if (name === 'ClientException' && named !== undefined) return named;
  return undefined;
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
    bucketOf: (operation) =>
      operation === 'LookupEvents'
        ? CLOUDTRAIL_BUCKET
        : SQS_OPERATIONS.has(operation)
          ? SQS_BUCKET
          : bucketOf(operation),
    throttleRetries: AWS_THROTTLE_RETRIES,
    throttleBackoff: { initialMs: 250, jitter: 0 },
    extraAttempts: sdkExtraAttempts,
    mapError: (operation, err) => {
      const name = err instanceof Error ? err.name : 'Error';
      const message = redactSecrets(err instanceof Error ? err.message : String(err));
      const service =
        operation === 'LookupEvents'
          ? 'cloudtrail'
          : SQS_OPERATIONS.has(operation)
            ? 'sqs'
            : provider.toLowerCase();
      const permission = awsDeniedPermission(name, message, service, operation);
      return new AwsCallError(operation, name, message, permission);
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
