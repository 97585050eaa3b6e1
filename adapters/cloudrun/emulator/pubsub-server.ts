/**
 * The emulator's Pub/Sub v1 gRPC server over a PubsubBroker, enough for the real
 * @google-cloud/pubsub 5.x client: Subscriber StreamingPull (bidi: the first request names the
 * subscription, `stream_ack_deadline_seconds` and `max_outstanding_messages`; later requests may
 * carry acks and deadline changes, or nothing: keepalives), Acknowledge, ModifyAckDeadline,
 * GetSubscription; Publisher Publish and GetTopic. Other methods answer UNIMPLEMENTED. Every call
 * is recorded in the CallLog; `faults.failNext` applies to the unary methods and to StreamingPull.
 * During a broker outage StreamingPull ends and GetSubscription fails with UNAVAILABLE (the client
 * retries the stream).
 */
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { Server, loadPackageDefinition, status as GrpcStatus } from '@grpc/grpc-js';
import type { GrpcObject, ServerDuplexStream, ServiceDefinition } from '@grpc/grpc-js';
import { packageProtosDir } from '../audit-proto.js';
import type { CallLog, Faults } from './faults.js';
import type { Wire } from './grpc-util.js';
import { RpcError, addService } from './grpc-util.js';
import type { Delivery, Puller, PubsubBroker } from './pubsub-broker.js';
import { BrokerError } from './pubsub-broker.js';

export const STREAMING_PULL_RPC = 'google.pubsub.v1.Subscriber/StreamingPull';

interface PubsubProtos {
  subscriber: ServiceDefinition;
  publisher: ServiceDefinition;
}

let cached: PubsubProtos | undefined;

function serviceDef(pkg: GrpcObject, name: string): ServiceDefinition {
  const v1 = ((pkg['google'] as GrpcObject)['pubsub'] as GrpcObject)['v1'] as GrpcObject;
  const def = (v1[name] as { service?: ServiceDefinition } | undefined)?.service;
  if (!def) throw new Error(`service google.pubsub.v1.${name} not found in the bundled protos`);
  return def;
}

function loadPubsubProtos(): PubsubProtos {
  if (cached) return cached;
  const dir = packageProtosDir('@google-cloud/pubsub');
  const gax = packageProtosDir('google-gax', '@google-cloud/pubsub');
  const pkg = loadPackageDefinition(
    protoLoader.loadSync([path.join('google', 'pubsub', 'v1', 'pubsub.proto')], {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
      includeDirs: [dir, gax],
    }),
  );
  cached = { subscriber: serviceDef(pkg, 'Subscriber'), publisher: serviceDef(pkg, 'Publisher') };
  return cached;
}

function rpcError(err: unknown): never {
  if (err instanceof BrokerError) throw new RpcError(GrpcStatus[err.code], err.message);
  throw err;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function toWire(d: Delivery): Wire {
  const ms = d.message.publishTimeMs;
  return {
    ack_id: d.ackId,
    delivery_attempt: d.deliveryAttempt,
    message: {
      data: d.message.data,
      attributes: d.message.attributes,
      message_id: d.message.messageId,
      publish_time: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
    },
  };
}

export interface PubsubServer extends Server {
  /** Open StreamingPull streams right now. */
  openStreams(): number;
}

export function createPubsubServer(broker: PubsubBroker, calls: CallLog, faults: Faults): PubsubServer {
  const protos = loadPubsubProtos();
  const server = new Server() as PubsubServer;
  let open = 0;
  server.openStreams = () => open;

  const streamingPull = (call: ServerDuplexStream<Wire, Wire>): void => {
    calls.record(STREAMING_PULL_RPC);
    let detach: (() => void) | undefined;
    let subscription = '';
    let closed = false;
    const finish = (code: GrpcStatus, details: string): void => {
      if (closed) return;
      closed = true;
      if (detach) open -= 1;
      detach?.();
      call.emit('error', { code, details });
    };
    const injected = faults.take(STREAMING_PULL_RPC);
    if (injected) {
      finish(injected.code, injected.message);
      return;
    }
    call.on('data', (req: Wire) => {
      if (closed) return;
      try {
        if (!detach) {
          subscription = typeof req['subscription'] === 'string' ? req['subscription'] : '';
          const maxOutstanding = Number(req['max_outstanding_messages'] ?? 0);
          const ackDeadline = Number(req['stream_ack_deadline_seconds'] ?? 0);
          const puller: Puller = {
            maxOutstanding: Number.isFinite(maxOutstanding) ? maxOutstanding : 0,
            deliver: (batch) => {
              if (!closed) call.write({ received_messages: batch.map(toWire) });
            },
            cut: () => finish(GrpcStatus.UNAVAILABLE, 'The service was unable to fulfill your request.'),
          };
          if (ackDeadline > 0) puller.ackDeadlineS = ackDeadline;
          detach = broker.attach(subscription, puller);
          open += 1;
        }
        const acks = strings(req['ack_ids']);
        if (acks.length > 0) broker.ack(subscription, acks);
        const modIds = strings(req['modify_deadline_ack_ids']);
        const secs = Array.isArray(req['modify_deadline_seconds']) ? req['modify_deadline_seconds'] : [];
        modIds.forEach((id, i) => broker.modifyAckDeadline(subscription, [id], Number(secs[i] ?? 0)));
      } catch (err) {
        if (err instanceof BrokerError) finish(GrpcStatus[err.code], err.message);
        else finish(GrpcStatus.INTERNAL, String(err));
      }
    });
    const end = (): void => {
      if (closed) return;
      closed = true;
      if (detach) open -= 1;
      detach?.();
    };
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('cancelled', end);
    call.on('error', end);
  };

  const sub = (req: Wire, key = 'subscription'): string => (typeof req[key] === 'string' ? req[key] : '');
  addService(
    server,
    'google.pubsub.v1.Subscriber',
    protos.subscriber,
    {
      GetSubscription: (req) => {
        if (broker.knobs.outage)
          throw new RpcError(GrpcStatus.UNAVAILABLE, 'The service is currently unavailable.');
        try {
          const s = broker.subscription(sub(req, 'subscription'));
          return { name: s.name, topic: s.topic, ack_deadline_seconds: s.ackDeadlineS };
        } catch (err) {
          return rpcError(err);
        }
      },
      Acknowledge: (req) => {
        try {
          broker.ack(sub(req), strings(req['ack_ids']));
          return {};
        } catch (err) {
          return rpcError(err);
        }
      },
      ModifyAckDeadline: (req) => {
        try {
          broker.modifyAckDeadline(
            sub(req),
            strings(req['ack_ids']),
            Number(req['ack_deadline_seconds'] ?? 0),
          );
          return {};
        } catch (err) {
          return rpcError(err);
        }
      },
    },
    calls,
    faults,
    { StreamingPull: streamingPull },
  );
  addService(
    server,
    'google.pubsub.v1.Publisher',
    protos.publisher,
    {
      GetTopic: (req) => {
        const topic = sub(req, 'topic');
        if (!broker.hasTopic(topic))
          throw new RpcError(GrpcStatus.NOT_FOUND, `Resource not found (resource=${topic}).`);
        return { name: topic };
      },
      Publish: (req) => {
        const topic = sub(req, 'topic');
        const messages = Array.isArray(req['messages']) ? (req['messages'] as Wire[]) : [];
        try {
          const ids = messages.map((m) => {
            const data = m['data'];
            const attrs = m['attributes'];
            return broker.publish(
              topic,
              Buffer.isBuffer(data) ? data : Buffer.from(typeof data === 'string' ? data : ''),
              attrs !== null && typeof attrs === 'object' ? (attrs as Record<string, string>) : {},
            );
          });
          return { message_ids: ids };
        } catch (err) {
          return rpcError(err);
        }
      },
    },
    calls,
    faults,
  );
  return server;
}
