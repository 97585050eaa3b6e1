/**
 * The reference console: a real gRPC server implementing AgentService and ConsoleQuery on top of
 * ConsoleStore (SQLite). It enforces the bearer token (UNAUTHENTICATED otherwise), validates every
 * request (INVALID_ARGUMENT with the reason), applies each batch at most once (by batch id) inside
 * one transaction, and serves the clusters / records views. TLS when `tls` is given; the read-only
 * web view (web/) on its own HTTP address when `web` is given.
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
  ListRecordsReply,
  ListRecordsRequest,
  RegisterClustersRequest,
  ReportSightingsRequest,
  WriteReply,
} from '../wire-types.js';
import { ConsoleStore } from './store.js';
import { startWebView } from './web/web-server.js';
import type { WebView } from './web/web-server.js';
import { checkDeregister, checkHeartbeat, checkRegister, checkSightings } from './validate.js';

export interface ReferenceConsoleOptions {
  /** host:port; port 0 picks a free port. */
  listen: string;
  /** SQLite file (':memory:' for a throw-away console). */
  dbFile: string;
  token: string;
  /** PEM certificate chain and private key. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  scheduler?: SchedulerLike;
  /** Also serve the read-only web view (web/web-server.ts) on this address. */
  web?: { listen: string; refreshMs?: number };
}

export interface ReferenceConsole {
  address: string;
  port: number;
  /** The web view's URL, when `web` was given. */
  webUrl?: string;
  stop(): Promise<void>;
}

export const SERVER_MAX_RECEIVE_BYTES = 16 * 1024 * 1024;

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function authorized(metadata: grpc.Metadata, expected: Buffer): boolean {
  const values = metadata.get('authorization');
  const v = values[0];
  if (values.length !== 1 || typeof v !== 'string') return false;
  const got = Buffer.from(v);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export async function startReferenceConsole(opts: ReferenceConsoleOptions): Promise<ReferenceConsole> {
  const scheduler = opts.scheduler ?? systemScheduler;
  const store = new ConsoleStore(opts.dbFile, () => scheduler.now());
  const expected = Buffer.from(`Bearer ${opts.token}`);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': SERVER_MAX_RECEIVE_BYTES });

  function unary<Req, Res>(handler: (req: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      if (!authorized(call.metadata, expected)) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or invalid bearer token' });
        return;
      }
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

  function write<Req extends { batch_id: string }>(
    rpc: string,
    check: (req: Req) => string | undefined,
    count: (req: Req) => number,
    apply: (req: Req) => void,
  ): grpc.handleUnaryCall<Req, WriteReply> {
    return unary<Req, WriteReply>((req) => {
      const problem = check(req);
      if (problem !== undefined) throw new RpcError(grpc.status.INVALID_ARGUMENT, `${rpc}: ${problem}`);
      return store.transaction(() => {
        if (!store.claimBatch(req.batch_id, rpc))
          return { batch_id: req.batch_id, accepted: 0, duplicate: true };
        apply(req);
        return { batch_id: req.batch_id, accepted: count(req), duplicate: false };
      });
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
    ),
    Heartbeat: write<HeartbeatRequest>(
      'Heartbeat',
      checkHeartbeat,
      (r) => r.activities.length,
      (r) => {
        for (const a of r.activities) store.heartbeat(a);
      },
    ),
    DeregisterClusters: write<DeregisterClustersRequest>(
      'DeregisterClusters',
      checkDeregister,
      (r) => (r.account !== '' ? 1 : r.cluster_ids.length),
      (r) => {
        store.deregister(r);
      },
    ),
  });
  server.addService(defs.query, {
    ListClusters: unary<ListClustersRequest, ListClustersReply>((r) => ({
      clusters: store.listClusters(r.provider),
    })),
    ListRecords: unary<ListRecordsRequest, ListRecordsReply>((r) => ({
      records: store.listRecords(r.cluster_id),
    })),
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
