/**
 * The operations HTTP server: GET /livez (the process can make progress: for liveness probes),
 * /healthz (everything, with reasons), /readyz (JSON bodies, 200 or 503) and /metrics
 * (Prometheus text format). Anything else is 404. `listen` is `host:port` (port 0 picks one).
 * Failure: a bind error rejects `startHttpServer` with the address in the message.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Health } from './health.js';

export interface HttpServerHandle {
  host: string;
  port: number;
  close(): Promise<void>;
}

export function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(i + 1)) };
}

export async function startHttpServer(
  listen: string,
  health: Health,
  registry: Registry,
): Promise<HttpServerHandle> {
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url === '/livez') {
      const l = health.livez();
      json(l.ok ? 200 : 503, { status: l.ok ? 'ok' : 'unhealthy', checks: l.checks });
    } else if (url === '/healthz') {
      const l = health.liveness();
      json(l.ok ? 200 : 503, { status: l.ok ? 'ok' : 'unhealthy', checks: l.checks });
    } else if (url === '/readyz') {
      const r = health.readiness();
      json(r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', pending: r.pending });
    } else if (url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  const { host, port } = splitHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`cannot listen on ${listen}: ${err.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
