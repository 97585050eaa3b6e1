/**
 * How every Cloud Run and Cloud Logging call goes through the provider kit's `apiCall`: a token from
 * the `logging:read` bucket for Logging operations and from `run:read` for the rest, counted in
 * `sightline_api_calls_total{provider="CLOUD_RUN", operation, outcome}` with the gRPC status name as
 * outcome. RESOURCE_EXHAUSTED (gRPC 8) surfaces at once as a ThrottledError (the engine backs off
 * without relisting); any other error is thrown unchanged. Messages carry the gRPC status text only
 * (no request metadata, hence no token).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { apiCall } from '../../src/provider/api-call.js';
import type { ApiCallDeps, ApiCallPolicy } from '../../src/provider/api-call.js';
import { ThrottledError } from '../../src/watch/source.js';

export const PROVIDER = 'CLOUD_RUN';
const RUN_BUCKET = 'run:read';
export const LOGGING_BUCKET = 'logging:read';
const LOGGING_OPERATIONS: ReadonlySet<string> = new Set(['ListLogEntries', 'TailLogEntries']);

export function grpcCode(err: unknown): number | undefined {
  if (err !== null && typeof err === 'object') {
    const c = (err as { code?: unknown }).code;
    if (typeof c === 'number') return c;
  }
  return undefined;
}

/** The metrics outcome of a failure: the gRPC status name in lower case, else `error`. */
export function outcomeOf(err: unknown): string {
  const code = grpcCode(err);
  if (code !== undefined && GrpcStatus[code] !== undefined) return GrpcStatus[code].toLowerCase();
  if (err instanceof ThrottledError) return 'resource_exhausted';
  return 'error';
}

export function isNotFound(err: unknown): boolean {
  return grpcCode(err) === GrpcStatus.NOT_FOUND;
}

const CLOUD_RUN_CALLS: ApiCallPolicy = {
  provider: PROVIDER,
  bucketOf: (operation) => (LOGGING_OPERATIONS.has(operation) ? LOGGING_BUCKET : RUN_BUCKET),
  throttleRetries: 0,
  isThrottled: (err) => grpcCode(err) === GrpcStatus.RESOURCE_EXHAUSTED,
  outcomeOf: (err) => outcomeOf(err),
  throttledMessage: (operation, err) =>
    `${operation}: RESOURCE_EXHAUSTED (${err instanceof Error ? err.message : String(err)})`,
};

/** One Cloud Run / Cloud Logging call under the Cloud Run policy. */
export function runCall<T>(deps: ApiCallDeps, operation: string, send: () => Promise<T>): Promise<T> {
  return apiCall(deps, CLOUD_RUN_CALLS, operation, send);
}

/** Counts a call made outside `runCall` (a tail session's open and end). */
export function countCall(deps: Pick<ApiCallDeps, 'metrics'>, operation: string, outcome: string): void {
  deps.metrics.apiCalls.inc({ provider: PROVIDER, operation, outcome });
}
