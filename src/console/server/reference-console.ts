/**
 * The reference console: a real gRPC server implementing AgentService and ConsoleQuery on top of
 * ConsoleStore (SQLite). It enforces the bearer token (UNAUTHENTICATED otherwise), validates every
 * request (INVALID_ARGUMENT with the reason), applies each batch at most once (by batch id) inside
 * one transaction, refuses a write from a replaced leader (FAILED_PRECONDITION, see fencing.ts), and
 * serves the clusters / records / nodes views. TLS when `tls` is given; the read-only web view (web/) on its
 * own HTTP address when `web` is given.
 *
 * Exposure limits (a console is reachable by anyone who can reach its port):
 * - The token is checked by a server interceptor on the request headers, before grpc-js reads the
 *   message: an unauthenticated call is answered UNAUTHENTICATED with its body never buffered or
 *   decoded (HTTP/2 flow control holds the sender at one window).
 * - Messages are capped at SERVER_MAX_RECEIVE_BYTES, fitted to what the agent sends (below);
 *   larger ones are refused RESOURCE_EXHAUSTED while being read, before decoding.
 * - Every string, map and list in a request has a size limit (validate.ts): INVALID_ARGUMENT.
 * - Connections: one with no call for `maxConnectionIdleMs` is closed (a connection that never
 *   sends the HTTP/2 preface has no call, so it is closed too), every connection is recycled after
 *   `maxConnectionAgeMs` (GOAWAY; calls in flight get `maxConnectionAgeGraceMs`), and keepalive
 *   pings find dead peers. A TLS handshake that never completes is dropped by Node after 120 s.
 * - The `Bearer` scheme is matched case-insensitively (RFC 7235); the token itself exactly, in
 *   constant time.
 *
 * Failure: a handler error becomes INTERNAL for that call only; the server keeps serving.
 */
import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { SchedulerLike } from 'rxjs';
import { systemScheduler } from '../../runtime/clock.js';
import { serviceDefinitions } from '../proto.js';
import type {
  DeregisterClustersRequest,
  HeartbeatRequest,
  ListClustersReply,
  ListClustersRequest,
  ListNodesReply,
  ListNodesRequest,
  ListRecordsReply,
  ListRecordsRequest,
  RegisterClustersRequest,
  ReportSightingsRequest,
  ResyncClusterRequest,
  FencedWrite,
  WriteReply,
} from '../wire-types.js';
import { ConsoleStore } from './store.js';
import { MAX_ID_CHARS, checkDeregister, checkHeartbeat, checkRegister, checkSightings } from './validate.js';
import { checkResync } from './validate-resync.js';
import { BATCH_MAX_BYTES } from '../outbox-batch.js';
import { clustersOf, epochOf } from './fencing.js';
import { startWebView } from './web/web-server.js';
import type { WebView } from './web/web-server.js';

export interface ReferenceConsoleOptions {
  /** host:port; port 0 picks a free port. */
  listen: string;
  /** SQLite file (':memory:' for a throw-away console). */
  dbFile: string;
  token: string;
  /** PEM certificate chain and private key. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  scheduler?: SchedulerLike;
  /** Serve ResyncCluster (default true); false acts as a console from before it (UNIMPLEMENTED). */
  resync?: boolean;
  /** Connection limits (defaults: DEFAULT_CONNECTION_LIMITS); tests shorten them. */
  limits?: Partial<ConnectionLimits>;
  /** Also serve the read-only web view (web/web-server.ts) on this address. */
  web?: { listen: string; refreshMs?: number };
}

interface ConnectionLimits {
  /** Close a connection with no call in flight for this long (also one that never sent the HTTP/2 preface). */
  maxConnectionIdleMs: number;
  /** Recycle every connection after this long (GOAWAY, clients reconnect). */
  maxConnectionAgeMs: number;
  /** Calls in flight at GOAWAY get this long to finish. */
  maxConnectionAgeGraceMs: number;
  /** Ping an idle client this often, and drop it when the ping is not answered within the timeout. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Concurrent calls per connection (the agent has one in flight). */
  maxConcurrentStreams: number;
}

const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnectionIdleMs: 5 * 60_000,
  maxConnectionAgeMs: 60 * 60_000,
  maxConnectionAgeGraceMs: 30_000,
  keepaliveTimeMs: 2 * 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConcurrentStreams: 100,
};

export interface ReferenceConsole {
  address: string;
  port: number;
  /** The web view's URL, when `web` was given. */
  webUrl?: string;
  stop(): Promise<void>;
}

/**
 * The largest request accepted. The agent's batches are at most BATCH_MAX_BYTES (3 MiB) of rows as
 * JSON, and a row's protobuf encoding is never larger than its JSON (field numbers instead of quoted
 * names, varints instead of decimal text); 1 MiB more covers the envelope and a heartbeat of
 * batchMaxItems (at most 10,000) activities of a few hundred bytes each. 4 MiB is also gRPC's
 * default, so a real console refuses the same.
 */
export const SERVER_MAX_RECEIVE_BYTES = BATCH_MAX_BYTES + 1024 * 1024;
/** Replies are small (a write ack) or a view; views are capped by the client at its own limit. */
const SERVER_MAX_SEND_BYTES = 64 * 1024 * 1024;

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

const BEARER_RE = /^bearer +(\S+)$/i;

/** One `authorization` value, `Bearer <token>` (scheme in any case), whose token equals `expected`. */
function authorized(metadata: grpc.Metadata, expected: Buffer): boolean {
  const values = metadata.get('authorization');
  const v = values[0];
  if (values.length !== 1 || typeof v !== 'string') return false;
  const m = BEARER_RE.exec(v);
  if (!m?.[1]) return false;
  const got = Buffer.from(m[1]);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * Checks the token on the request headers and answers UNAUTHENTICATED without passing the call on:
 * grpc-js reads the message only once the handler asks for it, so a refused call's body is never
 * buffered beyond the flow-control window, nor decoded.
 */
function authInterceptor(expected: Buffer): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            if (authorized(metadata, expected)) mdNext(metadata);
            else
              call.sendStatus({
                code: grpc.status.UNAUTHENTICATED,
                details: 'missing or invalid bearer token',
              });
          },
        });
      },
    });
}

export async function startReferenceConsole(opts: ReferenceConsoleOptions): Promise<ReferenceConsole> {
  const scheduler = opts.scheduler ?? systemScheduler;
  const store = new ConsoleStore(opts.dbFile, () => scheduler.now());
  const expected = Buffer.from(opts.token);
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...opts.limits };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': SERVER_MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': SERVER_MAX_SEND_BYTES,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    'grpc.max_connection_age_ms': limits.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    interceptors: [authInterceptor(expected)],
  });

  function unary<Req, Res>(handler: (req: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      // The token was checked by authInterceptor before the message was read.
      try {
        callback(null, handler(call.request));
      } catch (err) {
        if (err instanceof RpcError) callback({ code: err.code, details: err.message });
        else
          callback({
            code: grpc.status.INTERNAL,
            details: err instanceof Error ? err.message : 'internal error',
          });
      }
    };
  }

  function write<Req extends { batch_id: string } & FencedWrite>(
    rpc: string,
    check: (req: Req) => string | undefined,
    count: (req: Req) => number,
    apply: (req: Req) => void,
    clusters: (req: Req) => string[],
  ): grpc.handleUnaryCall<Req, WriteReply> {
    return unary<Req, WriteReply>((req) => {
      const problem = check(req);
      if (problem !== undefined) throw new RpcError(grpc.status.INVALID_ARGUMENT, `${rpc}: ${problem}`);
      const epoch = epochOf(req);
      const result = store.transaction((): WriteReply | string => {
        const fenced = store.fence(clusters(req), epoch, rpc, req.batch_id);
        if (fenced !== undefined) return fenced;
        if (!store.claimBatch(req.batch_id, rpc))
          return { batch_id: req.batch_id, accepted: 0, duplicate: true };
        apply(req);
        return { batch_id: req.batch_id, accepted: count(req), duplicate: false };
      });
      if (typeof result === 'string') {
        if (epoch !== undefined) store.refused(req.batch_id, rpc, epoch);
        throw new RpcError(grpc.status.FAILED_PRECONDITION, `${rpc}: ${result}`);
      }
      return result;
    });
  }

  const defs = serviceDefinitions();
  server.addService(defs.agent, {
    RegisterClusters: write<RegisterClustersRequest>(
      'RegisterClusters',
      checkRegister,
      (r) => r.clusters.length,
      (r) => {
        for (const c of r.clusters) store.register(c);
      },
      clustersOf.register,
    ),
    ReportSightings: write<ReportSightingsRequest>(
      'ReportSightings',
      checkSightings,
      (r) => r.sightings.length,
      (r) => {
        for (const s of r.sightings) {
          if ('workload' in s && s.change === 'workload') store.workload(s.workload);
          else if ('namespace' in s && s.change === 'namespace') store.namespace(s.namespace);
          else if ('node' in s && s.change === 'node') store.node(s.node);
          else if ('deletion' in s && s.change === 'deletion') store.deletion(s.deletion);
        }
      },
      clustersOf.sightings,
    ),
    Heartbeat: write<HeartbeatRequest>(
      'Heartbeat',
      checkHeartbeat,
      (r) => r.activities.length,
      (r) => {
        for (const a of r.activities) store.heartbeat(a);
      },
      clustersOf.heartbeat,
    ),
    DeregisterClusters: write<DeregisterClustersRequest>(
      'DeregisterClusters',
      checkDeregister,
      (r) => (r.account !== '' ? 1 : r.cluster_ids.length),
      (r) => {
        store.deregister(r);
      },
      (r) => clustersOf.deregister(r, (account) => store.clusterIdsOf(account)),
    ),
    ...(opts.resync === false
      ? {}
      : {
          ResyncCluster: write<ResyncClusterRequest>(
            'ResyncCluster',
            checkResync,
            () => 1,
            (r) => {
              store.resync(r);
            },
            clustersOf.resync,
          ),
        }),
  });
  server.addService(defs.query, {
    ListClusters: unary<ListClustersRequest, ListClustersReply>((r) => ({
      clusters: store.listClusters(r.provider),
    })),
    ListRecords: unary<ListRecordsRequest, ListRecordsReply>((r) => {
      if (typeof r.cluster_id === 'string' && r.cluster_id.length > MAX_ID_CHARS)
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `cluster_id longer than ${MAX_ID_CHARS} characters`);
      return { records: store.listRecords(r.cluster_id) };
    }),
    ListNodes: unary<ListNodesRequest, ListNodesReply>((r) => {
      if (typeof r.cluster_id === 'string' && r.cluster_id.length > MAX_ID_CHARS)
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `cluster_id longer than ${MAX_ID_CHARS} characters`);
      return { nodes: store.listNodes(r.cluster_id, r.provider) };
    }),
  });

  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(
        null,
        [{ cert_chain: Buffer.from(opts.tls.cert), private_key: Buffer.from(opts.tls.key) }],
        false,
      )
    : grpc.ServerCredentials.createInsecure();
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(opts.listen, creds, (err, p) => (err ? reject(err) : resolve(p)));
    });
  } catch (err) {
    store.close();
    throw new Error(
      `reference console cannot listen on ${opts.listen}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  const host = opts.listen.slice(0, opts.listen.lastIndexOf(':'));
  let web: WebView | undefined;
  if (opts.web !== undefined) {
    try {
      web = await startWebView({
        ...opts.web,
        token: opts.token,
        store,
        nowMs: () => scheduler.now(),
      });
    } catch (err) {
      server.forceShutdown();
      store.close();
      throw err;
    }
  }
  let stopped = false;
  return {
    address: `${host}:${port}`,
    port,
    ...(web !== undefined ? { webUrl: web.url } : {}),
    async stop() {
      if (stopped) return;
      stopped = true;
      await web?.stop();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      store.close();
    },
  };
}
