/**
 * How every Cloud Run and Cloud Logging call goes through the provider kit's `apiCall`: a token from
 * the `logging:read` bucket for Logging operations, from `pubsub:admin` for GetSubscription and from
 * `run:read` for the rest, counted in
 * `sightline_api_calls_total{provider="CLOUD_RUN", operation, outcome}` with the gRPC status name as
 * outcome. RESOURCE_EXHAUSTED (gRPC 8) surfaces at once as a ThrottledError (the engine backs off
 * without relisting); PERMISSION_DENIED (gRPC 7) as a PermissionDeniedError naming the missing
 * permission (`CloudRunPermissionDeniedError`, still carrying `code` 7): from the
 * google.rpc.ErrorInfo detail's `metadata.permission` when the server sent one, else from GCP's
 * message "Permission 'run.workerpools.list' denied on resource …", else from the operation
 * (`permissionForOperation`), so the watch engine treats the source as denied; any other error is
 * thrown unchanged. Messages carry the gRPC status text only (no request metadata, hence no token).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { apiCall } from '../../src/provider/api-call.js';
import type { ApiCallDeps, ApiCallPolicy } from '../../src/provider/api-call.js';
import { PermissionDeniedError, ThrottledError } from '../../src/watch/source.js';
import { PUBSUB_ADMIN_BUCKET } from './limits.js';

export const PROVIDER = 'CLOUD_RUN';
const RUN_BUCKET = 'run:read';
export const LOGGING_BUCKET = 'logging:read';
const LOGGING_OPERATIONS: ReadonlySet<string> = new Set(['ListLogEntries', 'TailLogEntries']);
const PUBSUB_ADMIN_OPERATIONS: ReadonlySet<string> = new Set(['GetSubscription']);

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

/** The IAM permission each operation needs (roles/run.viewer, roles/logging.viewer). */
const OPERATION_PERMISSIONS: Readonly<Record<string, string>> = {
  ListServices: 'run.services.list',
  GetService: 'run.services.get',
  ListRevisions: 'run.revisions.list',
  GetRevision: 'run.revisions.get',
  'v1.ListRevisions': 'run.revisions.list',
  'v1.GetRevision': 'run.revisions.get',
  ListJobs: 'run.jobs.list',
  GetJob: 'run.jobs.get',
  ListExecutions: 'run.executions.list',
  GetExecution: 'run.executions.get',
  ListWorkerPools: 'run.workerpools.list',
  GetWorkerPool: 'run.workerpools.get',
  ListLogEntries: 'logging.logEntries.list',
  TailLogEntries: 'logging.logEntries.list',
  ListLocations: 'run.locations.list',
  GetSubscription: 'pubsub.subscriptions.get',
};

/** The permission `operation` needs; an operation not in the table is named as is. */
export function permissionForOperation(operation: string): string {
  return OPERATION_PERMISSIONS[operation] ?? `run:${operation}`;
}

/** GCP's text: "Permission 'run.workerpools.list' denied on resource 'projects/…' (or …)." */
const DENIED_TEXT = /Permission '([a-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+)' denied/;

/** The permission a PERMISSION_DENIED error names (ErrorInfo, then message), else the operation's. */
export function deniedPermissionOf(operation: string, err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const metadata = (err as { errorInfoMetadata?: unknown }).errorInfoMetadata;
    if (metadata !== null && typeof metadata === 'object') {
      const p = (metadata as { permission?: unknown }).permission;
      if (typeof p === 'string' && p !== '') return p;
    }
  }
  const text = err instanceof Error ? err.message : String(err);
  return DENIED_TEXT.exec(text)?.[1] ?? permissionForOperation(operation);
}

/** PERMISSION_DENIED from Cloud Run or Cloud Logging: a PermissionDeniedError that keeps the gRPC code. */
export class CloudRunPermissionDeniedError extends PermissionDeniedError {
  readonly code = GrpcStatus.PERMISSION_DENIED;
  constructor(
    readonly operation: string,
    message: string,
    permission: string,
  ) {
    super(`${operation} failed: ${message}`, permission);
    this.name = 'CloudRunPermissionDeniedError';
  }
}

export const CLOUD_RUN_CALLS: ApiCallPolicy = {
  provider: PROVIDER,
  bucketOf: (operation) =>
    LOGGING_OPERATIONS.has(operation)
      ? LOGGING_BUCKET
      : PUBSUB_ADMIN_OPERATIONS.has(operation)
        ? PUBSUB_ADMIN_BUCKET
        : RUN_BUCKET,
  throttleRetries: 0,
  isThrottled: (err) => grpcCode(err) === GrpcStatus.RESOURCE_EXHAUSTED,
  outcomeOf: (err) => outcomeOf(err),
  mapError: (operation, err) =>
    grpcCode(err) === GrpcStatus.PERMISSION_DENIED
      ? new CloudRunPermissionDeniedError(
          operation,
          err instanceof Error ? err.message : String(err),
          deniedPermissionOf(operation, err),
        )
      : err,
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
