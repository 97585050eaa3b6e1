/**
 * Every Lambda, CloudTrail and SQS call of the Lambda adapter goes through `callLambda`: the kit's
 * API-call wrapper under the AWS policy (adapters/aws/call.ts) with the metrics label `LAMBDA` and
 * the operation -> budget bucket map of limits.ts (GetFunction on its own bucket).
 *
 * Failure: as the AWS policy says: throttling (429 TooManyRequestsException) is retried with
 * backoff and then surfaces as ThrottledError; a missing permission is an AwsCallError naming it
 * (`lambda:ListAliases`); any other error is an AwsCallError named after the AWS error.
 */
import type { ApiCallDeps } from '../../src/provider/api-call.js';
import { awsCallPolicy, callAws } from '../aws/call.js';
import { lambdaBucketFor } from './limits.js';

export const LAMBDA_CALL_POLICY = awsCallPolicy('LAMBDA', lambdaBucketFor);

export function callLambda<R>(deps: ApiCallDeps, operation: string, send: () => Promise<R>): Promise<R> {
  return callAws(deps, LAMBDA_CALL_POLICY, operation, send);
}
