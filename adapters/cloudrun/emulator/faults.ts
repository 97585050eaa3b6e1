/**
 * Fault injection for the emulator, and the record of RPCs called. Faults are queued per RPC and
 * consumed by the next matching calls; RPC names are gRPC method paths without the leading slash
 * (`google.cloud.run.v2.Services/ListServices`) or `v1:GetRevision` / `v1:ListRevisions` for REST.
 * `denyPermission` is persistent instead (an IAM policy without that permission) until `allowAll`:
 * every call of that unary RPC answers PERMISSION_DENIED as GCP does (grpc-util.ts).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

export interface InjectedError {
  code: GrpcStatus;
  message: string;
}

/** A persistent denial: the permission GCP names, and whether the google.rpc.ErrorInfo detail is sent. */
export interface DeniedPermission {
  permission: string;
  errorInfo: boolean;
}

export type SuppressionReason = 'RATE_LIMIT' | 'NOT_CONSUMED';

export class Faults {
  private readonly queued = new Map<string, InjectedError[]>();
  private readonly denied = new Map<string, DeniedPermission>();
  /** Extra latency per list page, ms (real time). */
  slowPageMs = 0;
  /** Tail sessions refused with RESOURCE_EXHAUSTED while > 0 (decremented per refusal). */
  tailRefusals = 0;
  /** Tail sessions opened without the confirming empty response while > 0 (decremented per session). */
  unconfirmedTails = 0;
  /** Entries still to drop from tails (reported as suppression_info). */
  suppressRemaining = 0;
  suppressReason: SuppressionReason = 'RATE_LIMIT';
  /** HTTP status for the next v1 REST calls while > 0. */
  v1Failures: Array<number> = [];
  private readonly cutHandlers = new Set<(code?: GrpcStatus) => void>();

  /** The next `times` calls of `rpc` fail with `code`. */
  failNext(rpc: string, code: GrpcStatus, times = 1, message = `injected ${GrpcStatus[code]}`): void {
    const q = this.queued.get(rpc) ?? [];
    for (let i = 0; i < times; i += 1) q.push({ code, message });
    this.queued.set(rpc, q);
  }

  /**
   * Every later call of the unary `rpc` is refused with PERMISSION_DENIED naming `permission`
   * (GCP's message text, plus a google.rpc.ErrorInfo detail carrying it unless `errorInfo: false`),
   * until `allowAll()`.
   */
  denyPermission(rpc: string, permission: string, options: { errorInfo?: boolean } = {}): void {
    this.denied.set(rpc, { permission, errorInfo: options.errorInfo ?? true });
  }

  /** Lifts every `denyPermission`. */
  allowAll(): void {
    this.denied.clear();
  }

  /** The permission `rpc` is denied, if any. */
  deniedPermission(rpc: string): DeniedPermission | undefined {
    return this.denied.get(rpc);
  }

  /** The next `times` TailLogEntries calls are refused with RESOURCE_EXHAUSTED. */
  refuseTail(times = 1): void {
    this.tailRefusals += times;
  }

  /** The next `times` TailLogEntries sessions open without sending the confirming empty response. */
  withholdTailConfirmation(times = 1): void {
    this.unconfirmedTails += times;
  }

  /** Drops the next `count` entries from every open tail and reports them as suppressed. */
  suppressTail(count: number, reason: SuppressionReason = 'RATE_LIMIT'): void {
    this.suppressRemaining += count;
    this.suppressReason = reason;
  }

  /** Ends every open tail stream now: with `code` as an error status, or cleanly when absent. */
  cutTails(code?: GrpcStatus): void {
    for (const h of this.cutHandlers) h(code);
  }

  slowPages(ms: number): void {
    this.slowPageMs = ms;
  }

  failV1(httpStatus: number, times = 1): void {
    for (let i = 0; i < times; i += 1) this.v1Failures.push(httpStatus);
  }

  take(rpc: string): InjectedError | undefined {
    const q = this.queued.get(rpc);
    return q && q.length > 0 ? q.shift() : undefined;
  }

  onCut(h: (code?: GrpcStatus) => void): () => void {
    this.cutHandlers.add(h);
    return () => this.cutHandlers.delete(h);
  }
}

export class CallLog {
  private readonly counts = new Map<string, number>();

  record(rpc: string): void {
    this.counts.set(rpc, (this.counts.get(rpc) ?? 0) + 1);
  }

  /** Calls of one RPC, or of all RPCs when absent. */
  count(rpc?: string): number {
    if (rpc !== undefined) return this.counts.get(rpc) ?? 0;
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** The distinct RPC names called so far, sorted. */
  names(): string[] {
    return [...this.counts.keys()].sort();
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }

  reset(): void {
    this.counts.clear();
  }
}
