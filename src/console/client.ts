/**
 * ConsoleClient: sends the state database's outbox and coalesced heartbeats to the console over
 * gRPC (@grpc/grpc-js), one batch in flight at a time, in outbox order.
 *
 * - Batches: consecutive outbox rows of the same RPC, up to `batchMaxItems` rows (and ~3 MiB), sent
 *   once the batch is full or its oldest row waited `batchMaxDelayMs`. The batch id is
 *   `<db instance>-<first seq>-<last seq>`, so a re-send is recognised by the console; content is
 *   idempotent anyway. The console's ack deletes the rows; until then they stay on disk, so after a
 *   restart unacknowledged rows are re-sent in order.
 * - Resync: a `resync` outbox row (see ConsoleSink.resync) is sent alone as ResyncCluster. A console
 *   that answers UNIMPLEMENTED predates it: the row counts as done (outcome `unimplemented`, one
 *   warning), since such a console works as before without it.
 * - Heartbeats: every `heartbeatIntervalMs` one Heartbeat RPC carries the latest activity of every
 *   (cluster, controller) that moved (more RPCs only past batchMaxItems pairs). Each call has its
 *   own batch id (`<db instance>-hb-<time>-<n>-<pairs>`).
 * - Retry: UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED and malformed replies back off
 *   exponentially with jitter. UNAUTHENTICATED / PERMISSION_DENIED (and a missing token) are not
 *   retried soon: health reports the error, the batch is kept, and sending resumes after
 *   `permanentErrorCooldownMs` or as soon as the token file changes.
 * - Rejected items: INVALID_ARGUMENT for an outbox batch means some item in it is bad, not the
 *   agent. A batch of more than one row is split in two and the halves sent as their own batches,
 *   first half first, recursively, so every good row is acknowledged and deleted as usual and rows
 *   never overtake earlier rows (per-key order holds). A row the console rejects on its own is moved
 *   out of the outbox into `outbox_rejected` (rpc, key, payload, the console's redacted message,
 *   time; one transaction, see Outbox.reject), counted in
 *   `sightline_console_rejected_items_total{rpc, reason}`, logged at error (rpc, seq, key; never
 *   the token), not re-sent (unless an operator requeues it: `sightline records requeue`), and
 *   sending continues at once. Health stays ok and reports the number of rejected rows kept
 *   (`rejected`) and the newest one (`lastRejected`, no payload). A console that rejects everything
 *   is not a bad item: after `maxRejectedInARow` (default 100) rows rejected on their own with
 *   nothing accepted in between, the client stops moving rows aside, keeps the row, and falls back
 *   to the cooldown above (health unhealthy) until a batch is accepted again (or the process
 *   restarts). A transient error during the split backs off as usual; the next attempt
 *   starts again from the oldest pending row.
 * - Unsendable rows: a row this version cannot send is never skipped nor deleted silently. When it
 *   is the oldest pending row it is moved to `outbox_rejected` like a rejected one, with the reason
 *   `unknown rpc "X"` (written by another version), `unreadable payload: <problem>` (not a JSON
 *   object), or the request serialization error (a payload the protobuf schema refuses; found by
 *   the same split as a rejected item); a batch ends before such a row, so nothing overtakes it.
 *   These do not count towards `maxRejectedInARow` (the console did not judge them). Every row set
 *   aside is counted in `sightline_console_rejected_items_total{rpc, reason}` with reason
 *   `invalid_argument`, `unknown_rpc`, `unreadable_payload` or `unserializable`.
 * - Rejected heartbeats: heartbeat pairs are independent of the outbox and of each other. A
 *   Heartbeat batch the console rejects as INVALID_ARGUMENT is split like an outbox batch; a pair
 *   rejected on its own is dropped from pending activity (marked sent), logged at error and counted
 *   (`{rpc="Heartbeat", reason="invalid_argument"}`), with no cooldown: the outbox keeps flowing.
 *   Nothing is lost that matters: activity is a coalesced "last seen", so the pair's next activity
 *   makes it pending again with a fresh value. After `maxRejectedInARow` pairs rejected with none
 *   accepted, rejected parts are dropped whole instead of split (bounding the calls per round).
 * - Fencing (leader election): with `epoch`, every write carries it. FAILED_PRECONDITION means the
 *   console accepted a newer leader's writes: this replica is not the leader any more. The client
 *   stops sending at once (the rows stay in the outbox; nothing is set aside or retried) and calls
 *   `onFenced`, which steps the replica down. Without `onFenced` it is a permanent error (cooldown).
 * - A reply that is malformed (undecodable, wrong types, wrong batch id, too large) is rejected with
 *   a specific error (counted as outcome `invalid_reply`), never a crash.
 * - `stop()` flushes what it can within a deadline, then cancels the call in flight; it leaves at once
 *   when the console is failing or refusing us (the rest is durable in the outbox).
 * Secrets: the token goes only into call metadata; logs and health carry file names and codes only.
 */
import * as grpc from '@grpc/grpc-js';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { ConsoleConfig } from '../config/schema.js';
import { defaults } from '../config/defaults.js';
import { systemScheduler } from '../runtime/clock.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import { counter } from '../runtime/metrics.js';
import type { Counter } from 'prom-client';
import { redactSecrets } from '../runtime/logger.js';
import type { StateDatabase } from '../state/database.js';
import type { OutboxRow, PendingRow, RejectedSummary } from '../state/outbox.js';
import { isOutboxRow } from '../state/outbox.js';
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
  ResyncClusterRequest,
  Sighting,
  WireLeaderEpoch,
  WriteReply,
} from './wire-types.js';
import { InvalidReplyError, validateReply, writeReplySchema } from './wire-types.js';

export type AgentRpc =
  'RegisterClusters' | 'ReportSightings' | 'Heartbeat' | 'DeregisterClusters' | 'ResyncCluster';

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

/** Why an item was set aside (label `reason` of sightline_console_rejected_items_total). */
export type RejectReason = 'invalid_argument' | 'unknown_rpc' | 'unreadable_payload' | 'unserializable';

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

export const BATCH_MAX_BYTES = 3 * 1024 * 1024;
export const MAX_REPLY_BYTES = 64 * 1024;
export const DEFAULT_PERMANENT_COOLDOWN_MS = 5 * 60 * 1000;
export const DEFAULT_MAX_REJECTED_IN_A_ROW = 100;

const RETRYABLE = new Set<number>([
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED,
]);
const PERMANENT = new Set<number>([
  grpc.status.FAILED_PRECONDITION,
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
  kind: 'batch';
  rpc: AgentRpc;
  request: { batch_id: string };
  items: number;
  /** The outbox rows it carries, in seq order (one RPC kind). */
  rows: OutboxRow[];
  /** Their parsed payloads, in the same order. */
  bodies: object[];
  lastSeq: number;
}

/** The oldest pending row, which this version cannot send. */
interface Unsendable {
  kind: 'unsendable';
  row: PendingRow;
  reason: 'unknown_rpc' | 'unreadable_payload';
  detail: string;
}

/**
 * How one write RPC ended. `rejected`: INVALID_ARGUMENT (or a request that could not be serialized),
 * left to the caller (not a failure).
 */
type CallResult =
  | { kind: 'ok'; reply: WriteReply }
  | { kind: 'rejected'; reason: 'invalid_argument' | 'unserializable'; detail: string }
  | { kind: 'failed' };

const AGENT_RPC: Record<OutboxRow['rpc'], AgentRpc> = {
  register: 'RegisterClusters',
  sightings: 'ReportSightings',
  deregister: 'DeregisterClusters',
  resync: 'ResyncCluster',
};

/** grpc-js fails a call whose request the protobuf schema refuses with INTERNAL and this text. */
const SERIALIZATION_FAILURE = 'Request message serialization failure';

/** Quotes text from the database for a message: JSON string syntax, at most 100 characters. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

/** The parsed payload, or why it cannot be sent. The reason never quotes the payload itself. */
function readPayload(payload: string): object | string {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // V8 quotes the start of the text ('Unexpected token..., "<text>" is not valid JSON'): leave it out.
    return message.replace(/, ".*"(?:\.\.\.)? is not valid JSON$/s, ' (not valid JSON)').slice(0, 200);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`;
  }
  return value;
}

export class ConsoleClient {
  private readonly scheduler: SchedulerLike;
  private readonly client: grpc.Client;
  private readonly methods: Record<AgentRpc, grpc.MethodDefinition<unknown, unknown>>;
  /** Whether the "console does not implement ResyncCluster" warning was logged (once per process). */
  private resyncUnsupportedLogged = false;
  private readonly token: TokenFile;
  private readonly heartbeatIntervalMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly permanentCooldownMs: number;
  private readonly tokenPollMs: number;
  private readonly unhealthyAfter: number;
  private readonly maxRejectedInARow: number;
  private readonly random: () => number;
  private readonly rejectedItems: Counter<'rpc' | 'reason'>;

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
  /** Set when the console fenced a write: this replica must not push any more. */
  private fencedDetail: string | undefined;
  private lastError: string | undefined;
  private lastSuccessMs: number | undefined;
  private lastHeartbeatMs = Number.NEGATIVE_INFINITY;
  /** Rows moved to outbox_rejected since a batch was last accepted. */
  private rejectedInARow = 0;
  /** Heartbeat pairs dropped since a Heartbeat was last accepted. */
  private heartbeatsRejectedInARow = 0;
  /** Makes every Heartbeat batch id unique, also for parts of a split sent in the same millisecond. */
  private heartbeatCalls = 0;

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
    this.maxRejectedInARow = deps.maxRejectedInARow ?? DEFAULT_MAX_REJECTED_IN_A_ROW;
    this.rejectedItems = counter(
      deps.metrics.registry,
      'sightline_console_rejected_items_total',
      'Items set aside instead of delivered: outbox rows the console rejected on their own or that cannot be sent ' +
        '(moved to outbox_rejected), and heartbeat pairs the console rejected (dropped; the next heartbeat carries a fresh value)',
      ['rpc', 'reason'],
    );
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
      ResyncCluster: method('ResyncCluster'),
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

  /**
   * Flushes pending writes for up to `deadlineMs`, then stops; leaves early when the console is
   * failing or refusing us (the rest is durable in the outbox, sent after the next start). Never rejects.
   */
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
      // Not a problem: every one is durable in the outbox.
      this.deps.logger.info(
        { pending, ...(this.lastError !== undefined ? { lastError: this.lastError } : {}) },
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
    const db = this.deps.db;
    const pending = db.closed ? 0 : db.outbox.count;
    const h: ConsoleHealth = {
      ok: true,
      pending,
      rejected: db.closed ? 0 : db.outbox.rejectedCount,
      rejectedEvicted: db.closed ? 0 : db.outbox.rejectedEvicted,
    };
    if (this.lastSuccessMs !== undefined) h.lastSuccessMs = this.lastSuccessMs;
    const lastRejected = db.closed ? undefined : db.outbox.lastRejected;
    if (lastRejected !== undefined) h.lastRejected = lastRejected;
    if (this.fencedDetail !== undefined) {
      h.ok = false;
      h.reason = `not the leader any more: ${this.fencedDetail}`;
    } else if (this.permanentError !== undefined) {
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
      // Stopping: leave once everything is sent, or when the console refuses us or is failing
      // (waiting out a backoff cannot help, and what is pending is durable in the outbox).
      if (
        this.stopping &&
        waitMs > 0 &&
        (this.nothingToSend() || this.permanentError !== undefined || this.failures > 0)
      )
        break;
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
        const batch = this.makeBatch(rows);
        if (batch.kind === 'unsendable') {
          this.setAside(
            isOutboxRow(batch.row) ? AGENT_RPC[batch.row.rpc] : 'unknown',
            batch.row,
            batch.detail,
            batch.reason,
          );
          return 0;
        }
        const ok = await this.sendBatch(batch);
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

  /**
   * The longest prefix of `rows` with one RPC kind, within the byte cap, that this version can send.
   * A row it cannot send ends the batch; when that row is the first, it comes back as `unsendable`
   * (to be set aside, in order).
   */
  private makeBatch(rows: PendingRow[]): Batch | Unsendable {
    const take: OutboxRow[] = [];
    const bodies: object[] = [];
    let bytes = 0;
    for (const r of rows) {
      const head = take[0];
      if (!isOutboxRow(r)) {
        if (head !== undefined) break;
        return { kind: 'unsendable', row: r, reason: 'unknown_rpc', detail: `unknown rpc ${quoted(r.rpc)}` };
      }
      if (head !== undefined) {
        if (r.rpc !== head.rpc || head.rpc === 'deregister' || head.rpc === 'resync') break;
        if (bytes + r.payload.length > BATCH_MAX_BYTES) break;
      }
      const body = readPayload(r.payload);
      if (typeof body === 'string') {
        if (head !== undefined) break;
        return {
          kind: 'unsendable',
          row: r,
          reason: 'unreadable_payload',
          detail: `unreadable payload: ${body}`,
        };
      }
      take.push(r);
      bodies.push(body);
      bytes += r.payload.length;
    }
    return this.buildBatch(take, bodies);
  }

  /** The request for exactly `take` (consecutive rows of one RPC kind) and their parsed `bodies`. */
  private buildBatch(take: OutboxRow[], bodies: object[]): Batch {
    const head = take[0];
    if (head === undefined) throw new Error('buildBatch needs at least one row');
    const last = take[take.length - 1] ?? head;
    const batchId = this.batchId(head.seq, last.seq);
    const batch = { kind: 'batch' as const, rows: take, bodies, lastSeq: last.seq };
    switch (head.rpc) {
      case 'register': {
        const req: RegisterClustersRequest = { batch_id: batchId, clusters: bodies as ClusterRegistration[] };
        return { ...batch, rpc: 'RegisterClusters', request: req, items: bodies.length };
      }
      case 'sightings': {
        const req: ReportSightingsRequest = { batch_id: batchId, sightings: bodies as Sighting[] };
        return { ...batch, rpc: 'ReportSightings', request: req, items: bodies.length };
      }
      case 'deregister': {
        const body = (bodies[0] ?? {}) as Partial<DeregisterClustersRequest>;
        const req: DeregisterClustersRequest = {
          batch_id: batchId,
          cluster_ids: Array.isArray(body.cluster_ids) ? body.cluster_ids : [],
          account: typeof body.account === 'string' ? body.account : '',
        };
        return { ...batch, rpc: 'DeregisterClusters', request: req, items: 1 };
      }
      case 'resync': {
        const req = { ...(bodies[0] ?? {}), batch_id: batchId } as ResyncClusterRequest;
        return { ...batch, rpc: 'ResyncCluster', request: req, items: 1 };
      }
    }
  }

  /**
   * Sends `batch`; on INVALID_ARGUMENT splits it and sends the halves in order (recursively), and
   * moves a row rejected on its own to outbox_rejected. True when every row was acknowledged or
   * moved aside; false (after recording the failure) when the client must wait before going on.
   */
  private async sendBatch(batch: Batch): Promise<boolean> {
    // Pending parts, in outbox order: the front one is always the oldest unsent row range.
    const parts: Batch[] = [batch];
    for (let part = parts.shift(); part !== undefined; part = parts.shift()) {
      if (!this.running || this.deps.db.closed) return false;
      const result = await this.callWrite(part);
      if (this.deps.db.closed) return false;
      if (result.kind === 'failed') return false;
      if (result.kind === 'ok') {
        this.rejectedInARow = 0;
        this.deps.db.outbox.ack(part.lastSeq);
        continue;
      }
      const rows = part.rows;
      if (rows.length > 1) {
        const mid = Math.ceil(rows.length / 2);
        const level = part === batch ? 'warn' : 'debug';
        this.deps.logger[level](
          {
            rpc: part.rpc,
            rows: rows.length,
            firstSeq: rows[0]?.seq,
            lastSeq: part.lastSeq,
            reason: result.reason,
            error: result.detail,
          },
          result.reason === 'unserializable'
            ? 'a batch could not be serialized; splitting it to isolate the item(s) the protobuf schema refuses'
            : 'console rejected a batch as INVALID_ARGUMENT; splitting it to isolate the rejected item(s)',
        );
        parts.unshift(
          this.buildBatch(rows.slice(0, mid), part.bodies.slice(0, mid)),
          this.buildBatch(rows.slice(mid), part.bodies.slice(mid)),
        );
        continue;
      }
      const row = rows[0];
      if (row === undefined) continue;
      if (result.reason === 'unserializable') {
        this.setAside(part.rpc, row, result.detail, 'unserializable');
        continue;
      }
      if (!this.quarantine(part.rpc, row, result.detail)) return false;
    }
    return true;
  }

  /**
   * Moves the oldest pending row, which cannot be sent, to outbox_rejected with `detail` as the
   * reason: counted and logged like a rejected row, but not by the console, so neither progress nor
   * a step towards the reject-everything valve.
   */
  private setAside(rpc: AgentRpc | 'unknown', row: PendingRow, detail: string, reason: RejectReason): void {
    const kept = this.deps.db.outbox.reject(row.seq, redactSecrets(detail), this.scheduler.now());
    if (kept === undefined) return; // already gone
    this.rejectedItems.inc({ rpc, reason });
    this.deps.logger.error(
      { rpc, outboxRpc: quoted(row.rpc), seq: row.seq, key: row.key, reason, error: detail },
      'outbox row cannot be sent; moved it to outbox_rejected (kept for inspection, not sent) and going on with the rest',
    );
  }

  /** Moves a row rejected on its own out of the outbox; false when the console seems to reject everything. */
  private quarantine(rpc: AgentRpc, row: OutboxRow, detail: string): boolean {
    if (this.rejectedInARow >= this.maxRejectedInARow) {
      // The call was counted already (outcome invalid_argument).
      this.block(
        rpc,
        'invalid_argument',
        `${detail} (the console rejected ${this.rejectedInARow} items in a row on their own and accepted none: ` +
          'keeping this one and pausing, since a console that rejects everything is not a bad item)',
      );
      return false;
    }
    const rejected = this.deps.db.outbox.reject(row.seq, detail, this.scheduler.now());
    if (rejected === undefined) return true; // already gone (acknowledged or moved by someone else)
    // Progress: the console is reachable, accepts our token, and the outbox moves on.
    this.reachable();
    this.rejectedInARow += 1;
    this.rejectedItems.inc({ rpc, reason: 'invalid_argument' });
    this.deps.logger.error(
      {
        rpc,
        seq: row.seq,
        key: row.key,
        error: detail,
        rejectedKept: this.deps.db.outbox.rejectedCount,
      },
      'console rejected an item on its own; moved it to outbox_rejected (not re-sent) and going on with the rest',
    );
    return true;
  }

  /**
   * Sends `items`; on INVALID_ARGUMENT splits them and sends the halves (recursively), and drops a
   * pair rejected on its own from pending activity. True when every pair was acknowledged or
   * dropped; false (after recording the failure) when the client must wait before going on.
   */
  private async sendHeartbeats(items: PendingActivity[]): Promise<boolean> {
    const parts: PendingActivity[][] = [items];
    for (let part = parts.shift(); part !== undefined; part = parts.shift()) {
      if (!this.running || this.deps.db.closed) return false;
      const result = await this.callRpc('Heartbeat', this.heartbeatRequest(part), part.length, true);
      if (this.deps.db.closed) return false;
      if (result.kind === 'failed') return false;
      if (result.kind === 'ok') {
        this.heartbeatsRejectedInARow = 0;
        this.deps.db.activity.markSent(part);
        continue;
      }
      if (part.length > 1 && this.heartbeatsRejectedInARow < this.maxRejectedInARow) {
        const mid = Math.ceil(part.length / 2);
        this.deps.logger[part === items ? 'warn' : 'debug'](
          { rpc: 'Heartbeat', pairs: part.length, error: result.detail },
          'console rejected a heartbeat batch as INVALID_ARGUMENT; splitting it to isolate the rejected pair(s)',
        );
        parts.unshift(part.slice(0, mid), part.slice(mid));
        continue;
      }
      this.dropHeartbeats(part, result.detail);
    }
    return true;
  }

  private heartbeatRequest(items: readonly PendingActivity[]): HeartbeatRequest {
    const now = this.scheduler.now();
    this.heartbeatCalls += 1;
    return {
      batch_id: `${this.deps.db.instanceId}-hb-${now}-${this.heartbeatCalls}-${items.length}`,
      activities: items.map((a) => ({
        cluster_id: a.clusterId,
        controller_name: a.controllerName,
        profile: a.profile,
        namespace: '',
        last_seen_ms: a.lastSeenMs,
      })),
    };
  }

  /** Drops rejected heartbeat pairs from pending activity: their next activity carries a fresh value. */
  private dropHeartbeats(pairs: PendingActivity[], detail: string): void {
    this.deps.db.activity.markSent(pairs);
    this.heartbeatsRejectedInARow += pairs.length;
    this.rejectedItems.inc({ rpc: 'Heartbeat', reason: 'invalid_argument' }, pairs.length);
    this.deps.logger.error(
      {
        rpc: 'Heartbeat',
        pairs: pairs.length,
        first: pairs.slice(0, 5).map((a) => ({ clusterId: a.clusterId, controller: a.controllerName })),
        error: detail,
      },
      'console rejected heartbeat activity on its own; dropped it (the next heartbeat carries a fresh value) and going on',
    );
  }

  /** One outbox batch. INVALID_ARGUMENT comes back as `rejected` (counted, not a failure). */
  private callWrite(batch: Batch): Promise<CallResult> {
    return this.callRpc(batch.rpc, batch.request, batch.items, true);
  }

  private async callRpc(
    rpc: AgentRpc,
    request: { batch_id: string },
    items: number,
    isolateRejections: boolean,
  ): Promise<CallResult> {
    const metrics = this.deps.metrics.consolePush;
    let token: string;
    try {
      token = this.token.current();
    } catch (err) {
      if (err instanceof TokenError) {
        this.failPermanently(rpc, 'no_token', err.message);
        return { kind: 'failed' };
      }
      throw err;
    }
    try {
      const epoch = this.deps.epoch;
      const raw = await unaryCall(
        this.client,
        this.methods[rpc],
        epoch === undefined ? request : { ...request, leader_epoch: epoch },
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
      return { kind: 'ok', reply };
    } catch (err) {
      if (isServiceError(err) && err.code === grpc.status.FAILED_PRECONDITION && this.deps.onFenced) {
        metrics.inc({ rpc, outcome: statusName(err.code) });
        this.fenced(rpc, this.describe(rpc, err));
        return { kind: 'failed' };
      }
      if (rpc === 'ResyncCluster' && isServiceError(err) && err.code === grpc.status.UNIMPLEMENTED) {
        // A console from before ResyncCluster: it works without it (it keeps what the lost outbox
        // would have deleted, as before). The row is done: nothing to retry.
        metrics.inc({ rpc, outcome: 'unimplemented' });
        if (!this.resyncUnsupportedLogged) {
          this.resyncUnsupportedLogged = true;
          this.deps.logger.warn(
            'the console does not implement ResyncCluster; objects deleted while the state was lost may stay listed there',
          );
        }
        this.succeed();
        return { kind: 'ok', reply: { batch_id: request.batch_id, accepted: 0, duplicate: false } };
      }
      if (isolateRejections && isServiceError(err) && err.code === grpc.status.INVALID_ARGUMENT) {
        metrics.inc({ rpc, outcome: statusName(err.code) });
        // The console answered and judged the content: no transient failure to back off from.
        this.failures = 0;
        this.lastError = undefined;
        return { kind: 'rejected', reason: 'invalid_argument', detail: this.describe(rpc, err) };
      }
      if (
        isolateRejections &&
        isServiceError(err) &&
        err.code === grpc.status.INTERNAL &&
        (err.details ?? '').startsWith(SERIALIZATION_FAILURE)
      ) {
        // Nothing was sent: some item does not fit the protobuf schema. Isolated like a rejected item.
        metrics.inc({ rpc, outcome: 'unserializable' });
        return { kind: 'rejected', reason: 'unserializable', detail: this.describe(rpc, err) };
      }
      this.fail(rpc, err);
      return { kind: 'failed' };
    } finally {
      this.inflight = undefined;
    }
  }

  /** The console fenced us: stop sending for good, keep every row, and step the replica down. */
  private fenced(rpc: AgentRpc, detail: string): void {
    if (this.fencedDetail !== undefined) return;
    this.fencedDetail = detail;
    this.running = false;
    this.deps.logger.error(
      { rpc, error: detail, pending: this.deps.db.closed ? 0 : this.deps.db.outbox.count },
      'the console refused a push from this replica as fenced (a newer leader wrote): stopping; the rows stay in the outbox',
    );
    const onFenced = this.deps.onFenced;
    if (onFenced) queueMicrotask(() => onFenced(detail));
  }

  private succeed(): void {
    this.reachable();
    this.lastSuccessMs = this.scheduler.now();
  }

  private reachable(): void {
    if (this.failures > 0 || this.permanentError !== undefined)
      this.deps.logger.info('console reachable again');
    this.failures = 0;
    this.permanentError = undefined;
    this.lastError = undefined;
    this.blockedUntilMs = 0;
  }

  private describe(rpc: AgentRpc, err: grpc.ServiceError): string {
    return `${rpc} failed: ${grpc.status[err.code] ?? err.code}: ${redactSecrets(err.details ?? err.message)}`;
  }

  private fail(rpc: AgentRpc, err: unknown): void {
    if (err instanceof InvalidReplyError) {
      this.failTransiently(rpc, 'invalid_reply', err.message);
      return;
    }
    if (isServiceError(err)) {
      const detail = this.describe(rpc, err);
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
    this.block(rpc, outcome, message);
  }

  /** Stops sending until the cooldown ends or the token file changes; health reports `message`. */
  private block(rpc: AgentRpc, outcome: string, message: string): void {
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
