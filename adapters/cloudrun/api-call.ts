/**
 * Every Cloud Run / Cloud Logging API call goes through `apiCall`: it waits for a token from the
 * API budget bucket (`run:read` or `logging:read`), runs the call, and counts it in
 * `sightline_api_calls_total{provider="CLOUD_RUN", operation, outcome}`. RESOURCE_EXHAUSTED (gRPC 8)
 * or HTTP 429 becomes a ThrottledError so the engine backs off without relisting. Error messages
 * carry the gRPC status text only (no request metadata, hence no token).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { ThrottledError } from '../../src/watch/source.js';

export const RUN_BUCKET = 'run:read';
export const LOGGING_BUCKET = 'logging:read';
export const PROVIDER = 'CLOUD_RUN';

export type CallDeps = Pick<ProviderDeps, 'budget' | 'metrics'>;

export function grpcCode(err: unknown): number | undefined {
  if (err !== null && typeof err === 'object') {
    const c = (err as { code?: unknown }).code;
    if (typeof c === 'number') return c;
  }
  return undefined;
}

export function outcomeOf(err: unknown): string {
  const code = grpcCode(err);
  if (code !== undefined && GrpcStatus[code] !== undefined) return GrpcStatus[code].toLowerCase();
  if (err instanceof ThrottledError) return 'resource_exhausted';
  return 'error';
}

export function isNotFound(err: unknown): boolean {
  return grpcCode(err) === GrpcStatus.NOT_FOUND;
}

export function countCall(deps: CallDeps, operation: string, outcome: string): void {
  deps.metrics.apiCalls.inc({ provider: PROVIDER, operation, outcome });
}

export async function apiCall<T>(
  deps: CallDeps,
  bucket: string,
  operation: string,
  fn: () => Promise<T>,
): Promise<T> {
  await deps.budget.acquire(bucket);
  try {
    const result = await fn();
    countCall(deps, operation, 'ok');
    return result;
  } catch (err) {
    countCall(deps, operation, outcomeOf(err));
    if (grpcCode(err) === GrpcStatus.RESOURCE_EXHAUSTED) {
      throw new ThrottledError(`${operation}: RESOURCE_EXHAUSTED (${(err as Error).message})`);
    }
    throw err;
  }
}
