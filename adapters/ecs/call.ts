/**
 * Every ECS and CloudTrail call of the ECS adapter goes through `callEcs`: the kit's API-call
 * wrapper under the AWS policy (adapters/aws/call.ts), with the metrics label `ECS` and the ECS
 * action -> budget bucket map.
 *
 * Failure: as the AWS policy says: throttling is retried with backoff and then surfaces as
 * ThrottledError; any other error is an AwsCallError named after the AWS error.
 */
import type { ApiCallDeps } from '../../src/provider/api-call.js';
import { ecsBucketFor } from './limits.js';
import { awsCallPolicy, callAws } from '../aws/call.js';

export type CallDeps = ApiCallDeps;

/** The call policy of the ECS adapter (its CloudTrail feed calls with it too). */
export const ECS_CALL_POLICY = awsCallPolicy('ECS', ecsBucketFor);

export function callEcs<R>(deps: CallDeps, operation: string, send: () => Promise<R>): Promise<R> {
  return callAws(deps, ECS_CALL_POLICY, operation, send);
}

/** Splits `items` into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
