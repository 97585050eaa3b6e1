/**
 * One write RPC to the console's AgentService and how it ended (`CallResult`), over one gRPC channel
 * (TLS unless plaintext is configured), with the bearer token in call metadata only.
 *
 * - `ok`: the console acknowledged the batch (its reply checked: the same batch id, no more items
 *   accepted than sent); push health records the success. A console that answers a ResyncCluster
 *   with UNIMPLEMENTED predates it: `ok` too (outcome `unimplemented`, one warning per process),
 *   since such a console works as before without it.
 * - `rejected`: INVALID_ARGUMENT (the console judged some item bad) or a request the protobuf schema
 *   refuses (grpc-js fails it with INTERNAL before sending); left to the caller to isolate the item.
 * - `failed`: recorded in push health first. Transient (backoff): UNAVAILABLE, RESOURCE_EXHAUSTED,
 *   DEADLINE_EXCEEDED, a malformed reply (undecodable, wrong types, wrong batch id, too large:
 *   outcome `invalid_reply`) and any other error. Permanent (cooldown): UNAUTHENTICATED,
 *   PERMISSION_DENIED, a missing or unreadable token, FAILED_PRECONDITION without `onFenced`. With
 *   `onFenced`, FAILED_PRECONDITION means fenced: `onFenced` is called and nothing is retried.
 * Every call is counted in `sightline_console_push_total{rpc, outcome}`. Never rejects.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ConsoleConfig } from '../config/schema.js';
import { redactSecrets } from '../runtime/logger.js';
import type { CoreMetrics } from '../runtime/metrics.js';
import { channelCredentials, channelOptions, unaryCall } from './channel.js';
import type { PushHealth } from './push-health.js';
import { serviceDefinitions } from './proto.js';
import { TokenError } from './token.js';
import type { TokenFile } from './token.js';
import type { WireLeaderEpoch, WriteReply } from './wire-types.js';
import { InvalidReplyError, validateReply, writeReplySchema } from './wire-types.js';

export type AgentRpc =
  'RegisterClusters' | 'ReportSightings' | 'Heartbeat' | 'DeregisterClusters' | 'ResyncCluster';

/** The largest reply accepted from the console. */
const MAX_REPLY_BYTES = 64 * 1024;

/** A call the console rejected as a whole: some item in it is bad (or does not fit the schema). */
export interface CallRejection {
  kind: 'rejected';
  reason: 'invalid_argument' | 'unserializable';
  detail: string;
}

export type CallResult = { kind: 'ok'; reply: WriteReply } | CallRejection | { kind: 'failed' };

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

/** grpc-js fails a call whose request the protobuf schema refuses with INTERNAL and this text. */
const SERIALIZATION_FAILURE = 'Request message serialization failure';

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'metadata' in err;
}

function statusName(code: number): string {
  return (grpc.status[code] ?? `CODE_${code}`).toLowerCase();
}

function describe(rpc: AgentRpc, err: grpc.ServiceError): string {
  return `${rpc} failed: ${grpc.status[err.code] ?? err.code}: ${redactSecrets(err.details ?? err.message)}`;
}

interface AgentCallerDeps {
  logger: Logger;
  metrics: CoreMetrics;
  token: TokenFile;
  health: PushHealth;
  /** Leader election: the epoch every write carries (fencing token). Unset: writes carry none. */
  epoch?: WireLeaderEpoch;
  /** The console refused a write as fenced (FAILED_PRECONDITION). Unset: a permanent error. */
  onFenced?: (rpc: AgentRpc, detail: string) => void;
}

export class AgentCaller {
  private readonly client: grpc.Client;
  private readonly methods: Record<AgentRpc, grpc.MethodDefinition<unknown, unknown>>;
  private inflight: grpc.ClientUnaryCall | undefined;
  /** Whether the "console does not implement ResyncCluster" warning was logged (once per process). */
  private resyncUnsupportedLogged = false;

  constructor(
    private readonly config: ConsoleConfig,
    private readonly deps: AgentCallerDeps,
  ) {
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

  /** Sends `request` (a batch of `items` items) as `rpc`; see the module comment for the outcomes. */
  async call(rpc: AgentRpc, request: { batch_id: string }, items: number): Promise<CallResult> {
    const metrics = this.deps.metrics.consolePush;
    const health = this.deps.health;
    let token: string;
    try {
      token = this.deps.token.current();
    } catch (err) {
      if (err instanceof TokenError) {
        health.failPermanently(rpc, 'no_token', err.message);
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
      health.succeed();
      return { kind: 'ok', reply };
    } catch (err) {
      const onFenced = this.deps.onFenced;
      if (isServiceError(err) && err.code === grpc.status.FAILED_PRECONDITION && onFenced) {
        metrics.inc({ rpc, outcome: statusName(err.code) });
        onFenced(rpc, describe(rpc, err));
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
        health.succeed();
        return { kind: 'ok', reply: { batch_id: request.batch_id, accepted: 0, duplicate: false } };
      }
      if (isServiceError(err) && err.code === grpc.status.INVALID_ARGUMENT) {
        metrics.inc({ rpc, outcome: statusName(err.code) });
        health.judged();
        return { kind: 'rejected', reason: 'invalid_argument', detail: describe(rpc, err) };
      }
      if (
        isServiceError(err) &&
        err.code === grpc.status.INTERNAL &&
        (err.details ?? '').startsWith(SERIALIZATION_FAILURE)
      ) {
        // Nothing was sent: some item does not fit the protobuf schema. Isolated like a rejected item.
        metrics.inc({ rpc, outcome: 'unserializable' });
        return { kind: 'rejected', reason: 'unserializable', detail: describe(rpc, err) };
      }
      this.fail(rpc, err);
      return { kind: 'failed' };
    } finally {
      this.inflight = undefined;
    }
  }

  /** Cancels the call on the wire, if any (its outcome is then a transient failure). */
  cancel(): void {
    this.inflight?.cancel();
  }

  close(): void {
    this.client.close();
  }

  private fail(rpc: AgentRpc, err: unknown): void {
    const health = this.deps.health;
    if (err instanceof InvalidReplyError) {
      health.failTransiently(rpc, 'invalid_reply', err.message);
      return;
    }
    if (isServiceError(err)) {
      const detail = describe(rpc, err);
      if (PERMANENT.has(err.code)) {
        health.failPermanently(rpc, statusName(err.code), detail);
        return;
      }
      if (RETRYABLE.has(err.code)) {
        health.failTransiently(rpc, statusName(err.code), detail);
        return;
      }
      // INTERNAL (e.g. an undecodable reply), UNKNOWN, UNIMPLEMENTED...: treat as a bad console reply.
      const outcome =
        err.code === grpc.status.INTERNAL || err.code === grpc.status.UNKNOWN
          ? 'invalid_reply'
          : statusName(err.code);
      health.failTransiently(rpc, outcome, `console reply rejected: ${detail}`);
      return;
    }
    health.failTransiently(
      rpc,
      'error',
      `${rpc} failed: ${err instanceof Error ? redactSecrets(err.message) : String(err)}`,
    );
  }
}
