/**
 * Lambda's documented control-plane request quotas as token buckets (Lambda quotas, "API
 * requests": https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), registered
 * with the daemon's `ApiBudget` (with CloudTrail's and SQS's, adapters/aws/limits.ts), which applies
 * its own safety fraction on top. Both are per account and region, cannot be increased, and are
 * shared with everything else the customer runs (their deploy pipelines):
 *
 * - GetFunction: 100 requests per second, a bucket of its own;
 * - every other control-plane call (ListFunctions, ListVersionsByFunction, ListAliases, ...;
 *   invocations, GetFunction and GetPolicy excluded): 15 requests per second together.
 *
 * The burst is one second's worth (AWS documents rates only). `lambdaBucketFor` maps an operation
 * (or SDK command name) to its bucket: GetFunction to its own, everything else to the shared one.
 */
import type { BucketLimit } from '../../src/provider/registration.js';

/** The budget bucket of GetFunction. */
export const LAMBDA_GET_FUNCTION_BUCKET = 'lambda:get-function';
/** The budget bucket every other Lambda control-plane call shares. */
export const LAMBDA_CONTROL_PLANE_BUCKET = 'lambda:control-plane';

export const LAMBDA_BUCKETS: Record<string, BucketLimit> = {
  [LAMBDA_GET_FUNCTION_BUCKET]: { burst: 100, refillPerSecond: 100 },
  [LAMBDA_CONTROL_PLANE_BUCKET]: { burst: 15, refillPerSecond: 15 },
};

/** The Lambda operations the adapter calls (each must be in config/iam/lambda-policy.json). */
export const LAMBDA_OPERATIONS: ReadonlySet<string> = new Set([
  'ListFunctions',
  'GetFunction',
  'ListVersionsByFunction',
  'ListAliases',
]);

/** `GetFunction`, `GetFunctionCommand` or `lambda:GetFunction` -> its bucket. */
export function lambdaBucketFor(operation: string): string {
  let name = operation.startsWith('lambda:') ? operation.slice('lambda:'.length) : operation;
  if (name.endsWith('Command')) name = name.slice(0, -'Command'.length);
  return name === 'GetFunction' ? LAMBDA_GET_FUNCTION_BUCKET : LAMBDA_CONTROL_PLANE_BUCKET;
}
