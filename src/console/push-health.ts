/**
 * Push health: how pushing to the console goes, as the client's loop and `/healthz` see it.
 *
 * - A transient failure (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, a malformed reply, a
 *   failed step) counts one consecutive failure and blocks sending for the runtime backoff's wait
 *   (`backoffDelayMs` of the failure count); health turns unhealthy after `unhealthyAfter` of them.
 * - A permanent error (UNAUTHENTICATED, PERMISSION_DENIED, a missing token, a console that rejects
 *   everything) blocks sending for `permanentCooldownMs`, and health reports its message until the
 *   console is reachable again.
 * - Fenced (another replica leads): health reports it for good.
 * - Any answer that shows the console reachable and accepting our token clears failures and blocks.
 * Messages are already redacted by the caller; nothing here throws.
 */
import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { backoffDelayMs } from '../runtime/backoff.js';
import type { BackoffOptions } from '../runtime/backoff.js';
import { redactSecrets } from '../runtime/logger.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import type { StateDatabase } from '../state/database.js';
import type { RejectedSummary } from '../state/rejected-table.js';
import type { AgentRpc } from './agent-rpc.js';

export interface ConsoleHealth {
  ok: boolean;
  reason?: string;
  lastSuccessMs?: number;
  pending: number;
  /** Outbox rows set aside (rejected by the console on their own, or unsendable), kept in `outbox_rejected`. */
  rejected: number;
  /** Rejected rows deleted past the `outbox_rejected` cap (state database lifetime). */
  rejectedEvicted: number;
  /** The newest row in `outbox_rejected` (across restarts): seq, outbox rpc, key, reason, time; no payload. */
  lastRejected?: RejectedSummary;
}

/**
 * The console's entry in /healthz (`checks.console`): ok and the reason when not, plus, healthy or
 * not, what the outbox holds and what was set aside (`detail`). No payload, no token: the last
 * rejection's reason is the console's message with secrets redacted, or the agent's own reason.
 */
export interface ConsoleCheck {
  ok: boolean;
  reason?: string;
  detail: {
    pending: number;
    rejected: number;
    rejectedEvicted: number;
    lastRejected?: RejectedSummary;
    lastSuccessMs?: number;
  };
}

export function consoleCheck(h: ConsoleHealth): ConsoleCheck {
  const detail: ConsoleCheck['detail'] = {
    pending: h.pending,
    rejected: h.rejected,
    rejectedEvicted: h.rejectedEvicted,
  };
  if (h.lastRejected !== undefined) detail.lastRejected = h.lastRejected;
  if (h.lastSuccessMs !== undefined) detail.lastSuccessMs = h.lastSuccessMs;
  return h.ok ? { ok: true, detail } : { ok: false, reason: h.reason ?? 'console unavailable', detail };
}

interface PushHealthDeps {
  logger: Logger;
  metrics: CoreMetrics;
  scheduler: SchedulerLike;
  backoff: Partial<BackoffOptions>;
  random: () => number;
  permanentCooldownMs: number;
  unhealthyAfter: number;
}

export class PushHealth {
  private failureCount = 0;
  private blockedUntil = 0;
  private permanent: string | undefined;
  /** Set when the console fenced a write: this replica must not push any more. */
  private fencedDetail: string | undefined;
  private lastErrorValue: string | undefined;
  private lastSuccess: number | undefined;

  constructor(private readonly deps: PushHealthDeps) {}

  /** Consecutive transient failures since the console last answered. */
  get failures(): number {
    return this.failureCount;
  }

  /** Until when sending waits (scheduler time; 0: not blocked). */
  get blockedUntilMs(): number {
    return this.blockedUntil;
  }

  /** The permanent error sending waits out, if any. */
  get permanentError(): string | undefined {
    return this.permanent;
  }

  get lastError(): string | undefined {
    return this.lastErrorValue;
  }

  get fenced(): boolean {
    return this.fencedDetail !== undefined;
  }

  /** Records the fencing detail; false when already fenced. */
  fence(detail: string): boolean {
    if (this.fencedDetail !== undefined) return false;
    this.fencedDetail = detail;
    return true;
  }

  /** Ends a block early (the token file changed). */
  unblock(): void {
    this.blockedUntil = 0;
  }

  /** The client stopped for good on an unexpected error. */
  stopped(message: string): void {
    this.lastErrorValue = message;
  }

  /** A step of the loop threw: counts as a transient failure; returns the wait before the next step. */
  stepFailed(err: unknown): number {
    this.lastErrorValue = err instanceof Error ? redactSecrets(err.message) : String(err);
    this.failureCount += 1;
    return backoffDelayMs(this.failureCount, this.deps.backoff, this.deps.random);
  }

  /** A call was accepted. */
  succeed(): void {
    this.reachable();
    this.lastSuccess = this.deps.scheduler.now();
  }

  /** The console answered and accepted our token (an accepted call, or an item rejected on its own). */
  reachable(): void {
    if (this.failureCount > 0 || this.permanent !== undefined)
      this.deps.logger.info('console reachable again');
    this.failureCount = 0;
    this.permanent = undefined;
    this.lastErrorValue = undefined;
    this.blockedUntil = 0;
  }

  /** The console judged the content (INVALID_ARGUMENT): no transient failure to back off from. */
  judged(): void {
    this.failureCount = 0;
    this.lastErrorValue = undefined;
  }

  failTransiently(rpc: AgentRpc, outcome: string, message: string): void {
    this.deps.metrics.consolePush.inc({ rpc, outcome });
    this.failureCount += 1;
    this.lastErrorValue = message;
    const wait = backoffDelayMs(this.failureCount, this.deps.backoff, this.deps.random);
    this.blockedUntil = this.deps.scheduler.now() + wait;
    const level = this.failureCount === 1 || this.failureCount % 10 === 0 ? 'warn' : 'debug';
    this.deps.logger[level](
      { rpc, outcome, failures: this.failureCount, retryInMs: wait, error: message },
      'console push failed; will retry',
    );
  }

  failPermanently(rpc: AgentRpc, outcome: string, message: string): void {
    this.deps.metrics.consolePush.inc({ rpc, outcome });
    this.block(rpc, outcome, message);
  }

  /** Stops sending until the cooldown ends or the token file changes; health reports `message`. */
  block(rpc: AgentRpc, outcome: string, message: string): void {
    if (this.permanent !== message) {
      this.deps.logger.error(
        { rpc, outcome, error: message, retryInMs: this.deps.permanentCooldownMs },
        'console rejected the push; keeping the batch and retrying after a cooldown or when the token file changes',
      );
    }
    this.permanent = message;
    this.lastErrorValue = message;
    this.blockedUntil = this.deps.scheduler.now() + this.deps.permanentCooldownMs;
  }

  /** The health entry: this state plus what the outbox holds and what was set aside. */
  report(db: StateDatabase): ConsoleHealth {
    const pending = db.closed ? 0 : db.outbox.count;
    const h: ConsoleHealth = {
      ok: true,
      pending,
      rejected: db.closed ? 0 : db.outbox.rejectedCount,
      rejectedEvicted: db.closed ? 0 : db.outbox.rejectedEvicted,
    };
    if (this.lastSuccess !== undefined) h.lastSuccessMs = this.lastSuccess;
    const lastRejected = db.closed ? undefined : db.outbox.lastRejected;
    if (lastRejected !== undefined) h.lastRejected = lastRejected;
    if (this.fencedDetail !== undefined) {
      h.ok = false;
      h.reason = `not the leader any more: ${this.fencedDetail}`;
    } else if (this.permanent !== undefined) {
      h.ok = false;
      h.reason = this.permanent;
    } else if (!db.closed && db.outbox.overLimit) {
      h.ok = false;
      h.reason = `console outbox over its limit: ${db.outbox.bytes} bytes pending > ${db.outbox.maxBytes} (changes are kept, none dropped)`;
    } else if (this.failureCount >= this.deps.unhealthyAfter && this.lastErrorValue !== undefined) {
      h.ok = false;
      h.reason = `console unreachable after ${this.failureCount} attempts: ${this.lastErrorValue}`;
    }
    return h;
  }
}
