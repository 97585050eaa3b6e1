/**
 * The HTTP plumbing every AWS emulator shares: a server on 127.0.0.1 (an ephemeral port, short
 * keep-alive) whose handler failures become a 500 with the protocol's error body, and the request
 * helpers (headers, body, JSON body, SigV4 signing scope). `stop()` cuts open connections (long
 * polls, keep-alives) and resolves once closed.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackServer {
  endpoint: string;
  stop(): Promise<void>;
}

/** What a handler that threw answers: the protocol's content type and error body. */
export interface InternalErrorReply {
  contentType: string;
  body: Record<string, unknown>;
}

export async function listenLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  internalError: InternalErrorReply,
): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': internalError.contentType });
      res.end(JSON.stringify(internalError.body));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A JSON request body as an object: `{}` for an empty body or a JSON value that is not an object,
 * undefined when the body is not JSON (the server answers its protocol's serialization error).
 */
export function jsonObjectBody(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = body.length === 0 ? {} : JSON.parse(body);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
}

/** Who signed a request and for which region, from its SigV4 credential scope (`defaultRegion` when unsigned). */
export function signingScope(
  req: IncomingMessage,
  defaultRegion: string,
): { accessKeyId: string | undefined; region: string } {
  const scope = /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]+)\//.exec(header(req, 'authorization') ?? '');
  return { accessKeyId: scope?.[1], region: scope?.[2] ?? defaultRegion };
}

/** A real-time wait (an emulated latency or throttling delay; the emulators run on loopback time). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
