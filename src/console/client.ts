/**
 * ConsoleClient: sends the state database's outbox and coalesced heartbeats to the console over
 * gRPC (@grpc/grpc-js), one batch in flight at a time, in outbox order.
 *
 * - Batches: consecutive outbox rows of the same RPC, up to `batchMaxItems` rows (and ~3 MiB), sent
 *   once the batch is full or its oldest row waited `batchMaxDelayMs`. The batch id is
 *   `<db instance>-<first seq>-<last seq>`, so a re-send is recognised by the console; content is
 *   idempotent anyway. The console's ack deletes the rows; until then they stay on disk, so after a
 *   restart unacknowledged rows are re-sent in order.
 * - Heartbeats: every `heartbeatIntervalMs` one Heartbeat RPC carries the latest activity of every
 *   (cluster, controller) that moved (more RPCs only past batchMaxItems pairs).
 * - Retry: UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED and malformed replies back off
 *   exponentially with jitter. INVALID_ARGUMENT / UNAUTHENTICATED / PERMISSION_DENIED (and a missing
 *   token) are not retried soon: health reports the error, the batch is kept, and sending resumes
 *   after `permanentErrorCooldownMs` or as soon as the token file changes.
 * - A reply that is malformed (undecodable, wrong types, wrong batch id, too large) is rejected with
 *   a specific error (counted as outcome `invalid_reply`), never a crash.
 * - `stop()` flushes what it can within a deadline, then cancels the call in flight.
 * Secrets: the token goes only into call metadata; logs and health carry file names and codes only.
 */
import * as grpc from '@grpc/grpc-js';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { ConsoleConfig } from '../config/schema.js';
import { defaults } from '../config/defaults.js';
import { systemScheduler } from '../runtime/clock.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import { redactSecrets } from '../runtime/logger.js';
import type { StateDatabase } from '../state/database.js';
import type { OutboxRow } from '../state/outbox.js';
import type { PendingActivity } from '../state/activity-store.js';
import { serviceDefinitions } from './proto.js';
import { channelCredentials, channelOptions, unaryCall } from './channel.js';
import { TokenError, TokenFile } from './token.js';
import { backoffDelayMs, defaultBackoff } from './backoff.js';
import type { BackoffPolicy } from './backoff.js';
import type {
  ClusterRegistration,
  DeregisterClustersRequest,
  HeartbeatRequest,
  RegisterClustersRequest,
  ReportSightingsRequest,
  Sighting,
  WriteReply,
} from './wire-types.js';
import { InvalidReplyError, validateReply, writeReplySchema } from './wire-types.js';

export type AgentRpc = 'RegisterClusters' | 'ReportSightings' | 'Heartbeat' | 'DeregisterClusters';

export interface ConsoleHealth {
  ok: boolean;
  reason?: string;
  lastSuccessMs?: number;
  pending: number;
}

export interface ConsoleClientDeps {
  db: StateDatabase;
  logger: Logger;
  metrics: CoreMetrics;
  scheduler?: SchedulerLike;
  /** Heartbeat flush interval. Default intervals.heartbeatIntervalMs (10 s). */
  heartbeatIntervalMs?: number;
  backoff?: BackoffPolicy;
  /** Wait before re-trying after a non-retryable error (unless the token file changes). Default 5 min. */
  permanentErrorCooldownMs?: number;
  /** How often the token file is checked while blocked on an auth error. Default 1 s. */
  tokenPollMs?: number;
  /** Consecutive transient failures after which health turns unhealthy. Default 3. */
  unhealthyAfterFailures?: number;
  random?: () => number;
}

export const BATCH_MAX_BYTES = 3 * 1024 * 1024;
export const MAX_REPLY_BYTES = 64 * 1024;
export const DEFAULT_PERMANENT_COOLDOWN_MS = 5 * 60 * 1000;

const RETRYABLE = new Set<number>([
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED,
]);
const PERMANENT = new Set<number>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
]);

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'metadata' in err;
}

function statusName(code: number): string {
  return (grpc.status[code] ?? `CODE_${code}`).toLowerCase();
}

interface Batch {
  rpc: AgentRpc;
  request: { batch_id: string };
  items: number;
  lastSeq: number;
}

export class ConsoleClient {
  private readonly scheduler: SchedulerLike;
  private readonly client: grpc.Client;
  private readonly methods: Record<AgentRpc, grpc.MethodDefinition<unknown, unknown>>;
  private readonly token: TokenFile;
  private readonly heartbeatIntervalMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly permanentCooldownMs: number;
  private readonly tokenPollMs: number;
  private readonly unhealthyAfter: number;
  private readonly random: () => number;

  private running = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Set by a poke that found no sleep to end: the next sleep returns at once. */
  private poked = false;
  private unsubscribe: (() => void) | undefined;
  private inflight: grpc.ClientUnaryCall | undefined;

  private failures = 0;
  private blockedUntilMs = 0;
  private permanentError: string | undefined;
  private lastError: string | undefined;
  private lastSuccessMs: number | undefined;
  private lastHeartbeatMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: ConsoleConfig,
    private readonly deps: ConsoleClientDeps,
  ) {
    this.scheduler = deps.scheduler ?? systemScheduler;
    this.heartbeatIntervalMs = deps.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs;
    this.backoff = deps.backoff ?? defaultBackoff;
    this.permanentCooldownMs = deps.permanentErrorCooldownMs ?? DEFAULT_PERMANENT_COOLDOWN_MS;
    this.tokenPollMs = deps.tokenPollMs ?? 1_000;
    this.unhealthyAfter = deps.unhealthyAfterFailures ?? 3;
    this.random = deps.random ?? Math.random;
    this.token = new TokenFile(config.tokenFile);
    const sec =
      config.tls.mode === 'plaintext'
        ? { plaintext: true }
        : {
            plaintext: false,
            ...(config.tls.caFile !== undefined ? { caFile: config.tls.caFile } : {}),
            ...(config.tls.serverName !== undefined ? { serverName: config.tls.serverName } : {}),
          };
    this.client = new grpc.Client(
      config.address,
      channelCredentials(sec),
      channelOptions(sec, MAX_REPLY_BYTES),
    );
    const agent = serviceDefinitions().agent;
    const method = (name: AgentRpc): grpc.MethodDefinition<unknown, unknown> => {
      const m = agent[name];
      if (m === undefined) throw new Error(`agent.proto lacks AgentService.${name}`);
      return m;
    };
    this.methods = {
      RegisterClusters: method('RegisterClusters'),
      ReportSightings: method('ReportSightings'),
      Heartbeat: method('Heartbeat'),
      DeregisterClusters: method('DeregisterClusters'),
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.token.refresh();
    this.unsubscribe = this.deps.db.outbox.onAppend(() => this.poke());
    this.loop = this.run().catch((err: unknown) => {
      // run() catches per-iteration errors; this is a last resort so a bug never becomes an unhandled rejection.
      this.lastError = `console client stopped: ${err instanceof Error ? redactSecrets(err.message) : String(err)}`;
      this.deps.logger.error({ err }, 'console client loop failed');
      this.running = false;
    });
  }

  /** Flushes pending writes for up to `deadlineMs`, then stops. Never rejects. */
  async stop(deadlineMs: number = defaults.shutdownDeadlineMs): Promise<void> {
    if (this.loop === undefined) {
      this.client.close();
      return;
    }
    this.stopping = true;
    this.poke();
    let timer: Subscription | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.scheduler.schedule(() => resolve(), deadlineMs);
    });
    await Promise.race([this.loop, timedOut]);
    timer?.unsubscribe();
    this.running = false;
    this.inflight?.cancel();
    this.poke();
    await this.loop;
    this.loop = undefined;
    this.unsubscribe?.();
    this.client.close();
    const pending = this.deps.db.closed ? 0 : this.deps.db.outbox.count;
    if (pending > 0)
      this.deps.logger.warn(
        { pending },
        'console client stopped with unsent changes; they are kept and sent after restart',
      );
  }

  health(): ConsoleHealth {
    const db = this.deps.db;
    const pending = db.closed ? 0 : db.outbox.count;
    const h: ConsoleHealth = { ok: true, pending };
    if (this.lastSuccessMs !== undefined) h.lastSuccessMs = this.lastSuccessMs;
    if (this.permanentError !== undefined) {
      h.ok = false;
      h.reason = this.permanentError;
    } else if (!db.closed && db.outbox.overLimit) {
      h.ok = false;
      h.reason = `console outbox over its limit: ${db.outbox.bytes} bytes pending > ${db.outbox.maxBytes} (changes are kept, none dropped)`;
    } else if (this.failures >= this.unhealthyAfter && this.lastError !== undefined) {
      h.ok = false;
      h.reason = `console unreachable after ${this.failures} attempts: ${this.lastError}`;
    }
    return h;
  }

  /** Ends the current sleep, or the next one if the loop is between steps (a poke is never lost). */
  private poke(): void {
    if (this.wake !== undefined) this.wake();
    else this.poked = true;
  }

  private sleep(ms: number): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.wake = undefined;
        sub.unsubscribe();
        resolve();
      };
      const sub = this.scheduler.schedule(finish, Math.max(0, ms));
      this.wake = finish;
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      let waitMs: number;
      try {
        waitMs = await this.step();
      } catch (err) {
        this.lastError = err instanceof Error ? redactSecrets(err.message) : String(err);
        this.deps.logger.error({ err }, 'console client step failed; backing off');
        this.failures += 1;
        waitMs = backoffDelayMs(this.failures, this.backoff, this.random);
      }
      if (!this.running) break;
      // Stopping: leave once everything is sent, or when the console refuses us (waiting cannot help).
      if (this.stopping && waitMs > 0 && (this.nothingToSend() || this.permanentError !== undefined)) break;
      if (waitMs > 0) await this.sleep(waitMs);
    }
  }

  private nothingToSend(): boolean {
    const db = this.deps.db;
    return db.closed || (db.outbox.count === 0 && db.activity.pendingCount() === 0);
  }

  /** Does one unit of work; returns how long to wait before the next (0: go on immediately). */
  private async step(): Promise<number> {
    // What was appended before this step is seen by it; only later pokes should cut the next sleep.
    this.poked = false;
    const db = this.deps.db;
    if (db.closed) return this.heartbeatIntervalMs;
    const now = this.scheduler.now();
    if (now < this.blockedUntilMs) {
      if (this.permanentError !== undefined && this.token.refresh()) {
        this.deps.logger.info(
          { tokenFile: this.config.tokenFile },
          'console token file changed; retrying now',
        );
        this.blockedUntilMs = 0;
        return 0;
      }
      const wait = this.blockedUntilMs - now;
      return this.permanentError !== undefined ? Math.min(wait, this.tokenPollMs) : wait;
    }

    const heartbeatDue = now >= this.lastHeartbeatMs + this.heartbeatIntervalMs || this.stopping;
    const pendingActivity = heartbeatDue ? db.activity.pending(this.config.batchMaxItems) : [];
    if (heartbeatDue && pendingActivity.length > 0) {
      const ok = await this.sendHeartbeats(pendingActivity);
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
      if (rows.length >= this.config.batchMaxItems || now >= dueAt || this.stopping || this.failures > 0) {
        const ok = await this.sendBatch(this.makeBatch(rows));
        return ok ? 0 : this.retryWait();
      }
      return Math.min(dueAt - now, this.nextHeartbeatWait(now));
    }
    return this.nextHeartbeatWait(now);
  }

  private nextHeartbeatWait(now: number): number {
    return Math.max(
      1,
      Math.min(this.heartbeatIntervalMs, this.lastHeartbeatMs + this.heartbeatIntervalMs - now),
    );
  }

  private retryWait(): number {
    const wait = Math.max(1, this.blockedUntilMs - this.scheduler.now());
    // While blocked on an auth/token error, wake up often enough to notice a new token file.
    return this.permanentError !== undefined ? Math.min(wait, this.tokenPollMs) : wait;
  }

  private batchId(firstSeq: number, lastSeq: number): string {
    return `${this.deps.db.instanceId}-${firstSeq}-${lastSeq}`;
  }

  /** The longest prefix of `rows` with one RPC kind, within the byte cap. Unreadable rows are sent as nothing. */
  private makeBatch(rows: OutboxRow[]): Batch {
    const head = rows[0];
    if (head === undefined) throw new Error('makeBatch needs at least one row');
    const take: OutboxRow[] = [];
    let bytes = 0;
    for (const r of rows) {
      if (r.rpc !== head.rpc) break;
      if (take.length > 0 && (bytes + r.payload.length > BATCH_MAX_BYTES || head.rpc === 'deregister')) break;
      take.push(r);
      bytes += r.payload.length;
    }
    const last = take[take.length - 1] ?? head;
    const batchId = this.batchId(head.seq, last.seq);
    const parsed: unknown[] = [];
    for (const r of take) {
      try {
        parsed.push(JSON.parse(r.payload));
      } catch {
        this.deps.logger.error({ seq: r.seq, key: r.key }, 'unreadable outbox row skipped');
      }
    }
    switch (head.rpc) {
      case 'register': {
        const req: RegisterClustersRequest = { batch_id: batchId, clusters: parsed as ClusterRegistration[] };
        return { rpc: 'RegisterClusters', request: req, items: parsed.length, lastSeq: last.seq };
      }
      case 'sightings': {
        const req: ReportSightingsRequest = { batch_id: batchId, sightings: parsed as Sighting[] };
        return { rpc: 'ReportSightings', request: req, items: parsed.length, lastSeq: last.seq };
      }
      case 'deregister': {
        const body = (parsed[0] ?? {}) as Partial<DeregisterClustersRequest>;
        const req: DeregisterClustersRequest = {
          batch_id: batchId,
          cluster_ids: Array.isArray(body.cluster_ids) ? body.cluster_ids : [],
          account: typeof body.account === 'string' ? body.account : '',
        };
        return { rpc: 'DeregisterClusters', request: req, items: 1, lastSeq: last.seq };
      }
    }
  }

  private async sendBatch(batch: Batch): Promise<boolean> {
    const reply = await this.call(batch.rpc, batch.request, batch.items);
    if (reply === undefined) return false;
    this.deps.db.outbox.ack(batch.lastSeq);
    return true;
  }

  private async sendHeartbeats(items: PendingActivity[]): Promise<boolean> {
    const now = this.scheduler.now();
    const req: HeartbeatRequest = {
      batch_id: `${this.deps.db.instanceId}-hb-${now}-${items.length}`,
      activities: items.map((a) => ({
        cluster_id: a.clusterId,
        controller_name: a.controllerName,
        profile: a.profile,
        namespace: '',
        last_seen_ms: a.lastSeenMs,
      })),
    };
    const reply = await this.call('Heartbeat', req, items.length);
    if (reply === undefined) return false;
    this.deps.db.activity.markSent(items);
    return true;
  }

  /** One RPC. Returns the validated reply, or undefined after recording the failure. */
  private async call(
    rpc: AgentRpc,
    request: { batch_id: string },
    items: number,
  ): Promise<WriteReply | undefined> {
    const metrics = this.deps.metrics.consolePush;
    let token: string;
    try {
      token = this.token.current();
    } catch (err) {
      if (err instanceof TokenError) {
        this.failPermanently(rpc, 'no_token', err.message);
        return undefined;
      }
      throw err;
    }
    try {
      const raw = await unaryCall(
        this.client,
        this.methods[rpc],
        request,
        token,
        this.config.rpcDeadlineMs,
        (c) => {
          this.inflight = c;
        },
      );
      const reply = validateReply(rpc, writeReplySchema, raw);
      if (reply.batch_id !== request.batch_id) {
        throw new InvalidReplyError(
          `console acknowledged batch "${reply.batch_id.slice(0, 80)}" but ${rpc} sent "${request.batch_id}"`,
        );
      }
      if (reply.accepted > items) {
        throw new InvalidReplyError(
          `console claims ${reply.accepted} items accepted in a ${rpc} batch of ${items}`,
        );
      }
      metrics.inc({ rpc, outcome: reply.duplicate ? 'duplicate' : 'ok' });
      this.succeed();
      return reply;
    } catch (err) {
      this.fail(rpc, err);
      return undefined;
    } finally {
      this.inflight = undefined;
    }
  }

  private succeed(): void {
    if (this.failures > 0 || this.permanentError !== undefined)
      this.deps.logger.info('console reachable again');
    this.failures = 0;
    this.permanentError = undefined;
    this.lastError = undefined;
    this.blockedUntilMs = 0;
    this.lastSuccessMs = this.scheduler.now();
  }

  private fail(rpc: AgentRpc, err: unknown): void {
    if (err instanceof InvalidReplyError) {
      this.failTransiently(rpc, 'invalid_reply', err.message);
      return;
    }
    if (isServiceError(err)) {
      const detail = `${rpc} failed: ${grpc.status[err.code] ?? err.code}: ${redactSecrets(err.details ?? err.message)}`;
      if (PERMANENT.has(err.code)) {
        this.failPermanently(rpc, statusName(err.code), detail);
        return;
      }
      if (RETRYABLE.has(err.code)) {
        this.failTransiently(rpc, statusName(err.code), detail);
        return;
      }
      // INTERNAL (e.g. an undecodable reply), UNKNOWN, UNIMPLEMENTED...: treat as a bad console reply.
      const outcome =
        err.code === grpc.status.INTERNAL || err.code === grpc.status.UNKNOWN
          ? 'invalid_reply'
          : statusName(err.code);
      this.failTransiently(rpc, outcome, `console reply rejected: ${detail}`);
      return;
    }
    this.failTransiently(
      rpc,
      'error',
      `${rpc} failed: ${err instanceof Error ? redactSecrets(err.message) : String(err)}`,
    );
  }

  private failTransiently(rpc: AgentRpc, outcome: string, message: string): void {
    this.deps.metrics.consolePush.inc({ rpc, outcome });
    this.failures += 1;
    this.lastError = message;
    const wait = backoffDelayMs(this.failures, this.backoff, this.random);
    this.blockedUntilMs = this.scheduler.now() + wait;
    const level = this.failures === 1 || this.failures % 10 === 0 ? 'warn' : 'debug';
    this.deps.logger[level](
      { rpc, outcome, failures: this.failures, retryInMs: wait, error: message },
      'console push failed; will retry',
    );
  }

  private failPermanently(rpc: AgentRpc, outcome: string, message: string): void {
    this.deps.metrics.consolePush.inc({ rpc, outcome });
    if (this.permanentError !== message) {
      this.deps.logger.error(
        { rpc, outcome, error: message, retryInMs: this.permanentCooldownMs },
        'console rejected the push; keeping the batch and retrying after a cooldown or when the token file changes',
      );
    }
    this.permanentError = message;
    this.lastError = message;
    this.blockedUntilMs = this.scheduler.now() + this.permanentCooldownMs;
  }
}
