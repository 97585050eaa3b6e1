/**
 * ConsoleClient: sends the state database's outbox and coalesced heartbeats to the console over
 * gRPC, one call in flight at a time, in outbox order. This file is the loop; what it drives:
 * `outbox-batch.ts` (what one call carries), `agent-rpc.ts` (the RPC and its outcome),
 * `outbox-sender.ts` and `heartbeat-sender.ts` (acknowledging, and isolating rejected items with
 * `split-send.ts`), `push-health.ts` (failures, cooldowns, the /healthz entry).
 *
 * - Batches: consecutive outbox rows of the same RPC, up to `batchMaxItems` rows (and ~3 MiB), sent
 *   once the batch is full or its oldest row waited `batchMaxDelayMs` (at once while stopping or
 *   after a failure). The console's ack deletes the rows; until then they stay on disk, so after a
 *   restart unacknowledged rows are re-sent in order. A `resync` row (see ConsoleSink.resync) is
 *   sent alone as ResyncCluster.
 * - Heartbeats: every `heartbeatIntervalMs` the latest activity of every (cluster, controller) that
 *   moved, in Heartbeat calls of at most `batchMaxItems` pairs (more calls in the same round when
 *   more are pending). A heartbeat round comes before the outbox.
 * - Waiting: a transient failure waits out the runtime backoff (`backoff`, default
 *   CLIENT_GO_BACKOFF). A permanent error (UNAUTHENTICATED / PERMISSION_DENIED, a missing token, a
 *   console that rejects everything) keeps the batch and waits `permanentErrorCooldownMs`, checking
 *   the token file every `tokenPollMs` and retrying at once when it changed. An append wakes the
 *   loop (sleep/wake: runtime `Timers`).
 * - Fencing (leader election): with `epoch`, every write carries it. FAILED_PRECONDITION means the
 *   console accepted a newer leader's writes: the client stops sending at once (the rows stay in the
 *   outbox; nothing is set aside or retried) and calls `onFenced`, which steps the replica down.
 *   Without `onFenced` it is a permanent error (cooldown).
 * - `stop()` flushes what it can within a deadline, then cancels the call in flight; it leaves at once
 *   when the console is failing or refusing us (the rest is durable in the outbox). `halt()` stops
 *   starting calls at once.
 * A step that throws (e.g. the state database) is logged and retried with backoff; the loop never
 * rejects. Secrets: the token goes only into call metadata; logs and health carry file names and
 * codes only.
 */
import type { Counter } from 'prom-client';
import type { SchedulerLike } from 'rxjs';
import type { Logger } from 'pino';
import type { ConsoleConfig } from '../config/schema.js';
import { defaults } from '../config/defaults.js';
import type { BackoffOptions } from '../runtime/backoff.js';
import { systemScheduler } from '../runtime/clock.js';
import { redactSecrets } from '../runtime/logger.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import { counter } from '../runtime/metrics.js';
import { Timers } from '../runtime/timers.js';
import type { StateDatabase } from '../state/database.js';
import { isOutboxRow } from '../state/outbox-row.js';
import { AgentCaller } from './agent-rpc.js';
import type { AgentRpc } from './agent-rpc.js';
import { HeartbeatSender } from './heartbeat-sender.js';
import { AGENT_RPC, makeBatch } from './outbox-batch.js';
import { DEFAULT_MAX_REJECTED_IN_A_ROW, OutboxSender } from './outbox-sender.js';
import { PushHealth } from './push-health.js';
import type { ConsoleHealth } from './push-health.js';
import { TokenFile } from './token.js';
import type { WireLeaderEpoch } from './wire-types.js';

export interface ConsoleClientDeps {
  db: StateDatabase;
  logger: Logger;
  metrics: CoreMetrics;
  scheduler?: SchedulerLike;
  /** Heartbeat flush interval. Default intervals.heartbeatIntervalMs (10 s). */
  heartbeatIntervalMs?: number;
  /** Retry waits after transient failures. Default CLIENT_GO_BACKOFF (800 ms, ×2, 30 s cap, jitter 1.0). */
  backoff?: Partial<BackoffOptions>;
  /** Wait before re-trying after a non-retryable error (unless the token file changes). Default 5 min. */
  permanentErrorCooldownMs?: number;
  /** How often the token file is checked while blocked on an auth error. Default 1 s. */
  tokenPollMs?: number;
  /** Consecutive transient failures after which health turns unhealthy. Default 3. */
  unhealthyAfterFailures?: number;
  /**
   * Rows rejected on their own, with no batch accepted in between, after which the console is taken
   * to reject everything and rows are kept (cooldown) instead of moved to `outbox_rejected`. Default 100.
   */
  maxRejectedInARow?: number;
  random?: () => number;
  /** Leader election: the epoch every write carries (fencing token). Unset: writes carry none. */
  epoch?: WireLeaderEpoch;
  /** The console refused a write as fenced (FAILED_PRECONDITION): another replica leads now. */
  onFenced?: (detail: string) => void;
}

const DEFAULT_PERMANENT_COOLDOWN_MS = 5 * 60 * 1000;
const DEFAULT_TOKEN_POLL_MS = 1_000;
const DEFAULT_UNHEALTHY_AFTER_FAILURES = 3;

export class ConsoleClient {
  private readonly scheduler: SchedulerLike;
  private readonly token: TokenFile;
  private readonly heartbeatIntervalMs: number;
  private readonly tokenPollMs: number;
  private readonly pushHealth: PushHealth;
  private readonly caller: AgentCaller;
  private readonly outbox: OutboxSender;
  private readonly heartbeats: HeartbeatSender;

  private running = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** The loop's sleep between steps, ended early by `poke` (new rows, stop, halt). */
  private readonly timers: Timers;
  private unsubscribe: (() => void) | undefined;
  private lastHeartbeatMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: ConsoleConfig,
    private readonly deps: ConsoleClientDeps,
  ) {
    const scheduler = deps.scheduler ?? systemScheduler;
    this.scheduler = scheduler;
    this.timers = new Timers(scheduler);
    this.heartbeatIntervalMs = deps.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs;
    this.tokenPollMs = deps.tokenPollMs ?? DEFAULT_TOKEN_POLL_MS;
    const maxRejectedInARow = deps.maxRejectedInARow ?? DEFAULT_MAX_REJECTED_IN_A_ROW;
    const rejectedItems: Counter<'rpc' | 'reason'> = counter(
      deps.metrics.registry,
      'sightline_console_rejected_items_total',
      'Items set aside instead of delivered: outbox rows the console rejected on their own or that cannot be sent ' +
        '(moved to outbox_rejected), and heartbeat pairs the console rejected (dropped; the next heartbeat carries a fresh value)',
      ['rpc', 'reason'],
    );
    this.pushHealth = new PushHealth({
      logger: deps.logger,
      metrics: deps.metrics,
      scheduler,
      backoff: deps.backoff ?? {},
      random: deps.random ?? Math.random,
      permanentCooldownMs: deps.permanentErrorCooldownMs ?? DEFAULT_PERMANENT_COOLDOWN_MS,
      unhealthyAfter: deps.unhealthyAfterFailures ?? DEFAULT_UNHEALTHY_AFTER_FAILURES,
    });
    this.token = new TokenFile(config.tokenFile);
    this.caller = new AgentCaller(config, {
      logger: deps.logger,
      metrics: deps.metrics,
      token: this.token,
      health: this.pushHealth,
      ...(deps.epoch !== undefined ? { epoch: deps.epoch } : {}),
      ...(deps.onFenced !== undefined ? { onFenced: (rpc, detail) => this.fenced(rpc, detail) } : {}),
    });
    const running = (): boolean => this.running;
    const senderDeps = {
      db: deps.db,
      logger: deps.logger,
      scheduler,
      caller: this.caller,
      rejectedItems,
      maxRejectedInARow,
      running,
    };
    this.outbox = new OutboxSender({ ...senderDeps, health: this.pushHealth });
    this.heartbeats = new HeartbeatSender(senderDeps);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.token.refresh();
    this.unsubscribe = this.deps.db.outbox.onAppend(() => this.poke());
    this.loop = this.run().catch((err: unknown) => {
      // run() catches per-iteration errors; this is a last resort so a bug never becomes an unhandled rejection.
      this.pushHealth.stopped(
        `console client stopped: ${err instanceof Error ? redactSecrets(err.message) : String(err)}`,
      );
      this.deps.logger.error({ err }, 'console client loop failed');
      this.running = false;
    });
  }

  /**
   * Flushes pending writes for up to `deadlineMs`, then stops; leaves early when the console is
   * failing or refusing us (the rest is durable in the outbox, sent after the next start). Never rejects.
   */
  async stop(deadlineMs: number = defaults.shutdownDeadlineMs): Promise<void> {
    if (this.loop === undefined) {
      this.caller.close();
      return;
    }
    this.stopping = true;
    this.poke();
    const deadline = new Timers(this.scheduler);
    await Promise.race([this.loop, deadline.sleep(deadlineMs)]);
    deadline.cancelAll();
    this.running = false;
    this.caller.cancel();
    this.poke();
    await this.loop;
    this.loop = undefined;
    this.unsubscribe?.();
    this.caller.close();
    const pending = this.deps.db.closed ? 0 : this.deps.db.outbox.count;
    const lastError = this.pushHealth.lastError;
    if (pending > 0)
      // Not a problem: every one is durable in the outbox.
      this.deps.logger.info(
        { pending, ...(lastError !== undefined ? { lastError } : {}) },
        'console client stopped with changes pending; they are durable in the outbox and sent after the next start',
      );
  }

  /**
   * Stops sending at once (leadership lost): no new call starts. A call already on the wire is left
   * to the console, which accepts or fences it by its epoch; its answer is still handled (an ack
   * deletes its rows, a FAILED_PRECONDITION is logged). The rows stay in the outbox. `stop()` still
   * closes the channel.
   */
  halt(): void {
    this.running = false;
    this.poke();
  }

  health(): ConsoleHealth {
    return this.pushHealth.report(this.deps.db);
  }

  /** Ends the current sleep, or the next one if the loop is between steps (a poke is never lost). */
  private poke(): void {
    this.timers.wake();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let waitMs: number;
      try {
        waitMs = await this.step();
      } catch (err) {
        waitMs = this.pushHealth.stepFailed(err);
        this.deps.logger.error({ err }, 'console client step failed; backing off');
      }
      if (!this.running) break;
      // Stopping: leave once everything is sent, or when the console refuses us or is failing
      // (waiting out a backoff cannot help, and what is pending is durable in the outbox).
      if (
        this.stopping &&
        waitMs > 0 &&
        (this.nothingToSend() || this.pushHealth.permanentError !== undefined || this.pushHealth.failures > 0)
      )
        break;
      if (waitMs > 0) await this.timers.sleep(waitMs);
    }
  }

  private nothingToSend(): boolean {
    const db = this.deps.db;
    return db.closed || (db.outbox.count === 0 && db.activity.pendingCount() === 0);
  }

  /** Does one unit of work; returns how long to wait before the next (0: go on immediately). */
  private async step(): Promise<number> {
    const db = this.deps.db;
    const health = this.pushHealth;
    if (db.closed) return this.heartbeatIntervalMs;
    const now = this.scheduler.now();
    if (now < health.blockedUntilMs) {
      if (health.permanentError !== undefined && this.token.refresh()) {
        this.deps.logger.info(
          { tokenFile: this.config.tokenFile },
          'console token file changed; retrying now',
        );
        health.unblock();
        return 0;
      }
      const wait = health.blockedUntilMs - now;
      return health.permanentError !== undefined ? Math.min(wait, this.tokenPollMs) : wait;
    }

    const heartbeatDue = now >= this.lastHeartbeatMs + this.heartbeatIntervalMs || this.stopping;
    const pendingActivity = heartbeatDue ? db.activity.pending(this.config.batchMaxItems) : [];
    if (heartbeatDue && pendingActivity.length > 0) {
      const ok = await this.heartbeats.send(pendingActivity);
      // A full batch means more pairs may be pending: send them now, in the same round.
      if (ok && pendingActivity.length < this.config.batchMaxItems) this.lastHeartbeatMs = now;
      return ok ? 0 : this.retryWait();
    }
    // Due but nothing moved: start a new interval, so later activity waits for the next round.
    if (heartbeatDue && !this.stopping) this.lastHeartbeatMs = now;

    const rows = db.outbox.peek(this.config.batchMaxItems);
    const first = rows[0];
    if (first !== undefined) {
      const dueAt = first.createdMs + this.config.batchMaxDelayMs;
      if (rows.length >= this.config.batchMaxItems || now >= dueAt || this.stopping || health.failures > 0) {
        const batch = makeBatch(rows, db.instanceId);
        if (batch.kind === 'unsendable') {
          this.outbox.setAside(
            isOutboxRow(batch.row) ? AGENT_RPC[batch.row.rpc] : 'unknown',
            batch.row,
            batch.detail,
            batch.reason,
          );
          return 0;
        }
        const ok = await this.outbox.send(batch);
        return ok ? 0 : this.retryWait();
      }
      return Math.min(dueAt - now, this.nextHeartbeatWait(now));
    }
    return this.nextHeartbeatWait(now);
  }

  /** The console fenced us: stop sending for good, keep every row, and step the replica down. */
  private fenced(rpc: AgentRpc, detail: string): void {
    if (!this.pushHealth.fence(detail)) return;
    this.running = false;
    this.deps.logger.error(
      { rpc, error: detail, pending: this.deps.db.closed ? 0 : this.deps.db.outbox.count },
      'the console refused a push from this replica as fenced (a newer leader wrote): stopping; the rows stay in the outbox',
    );
    const onFenced = this.deps.onFenced;
    if (onFenced) queueMicrotask(() => onFenced(detail));
  }

  private nextHeartbeatWait(now: number): number {
    return Math.max(
      1,
      Math.min(this.heartbeatIntervalMs, this.lastHeartbeatMs + this.heartbeatIntervalMs - now),
    );
  }

  private retryWait(): number {
    const wait = Math.max(1, this.pushHealth.blockedUntilMs - this.scheduler.now());
    // While blocked on an auth/token error, wake up often enough to notice a new token file.
    return this.pushHealth.permanentError !== undefined ? Math.min(wait, this.tokenPollMs) : wait;
  }
}
