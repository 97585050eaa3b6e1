/**
 * The reference console's web view (`console serve --web ADDR`): a read-only HTTP server on the
 * console's store with the Clusters page, each cluster's page (namespaces, workloads by kind) and
 * the Images page (with search). Pages are rendered on the server with every value escaped; a
 * small script (assets.ts) keeps them live by re-fetching `<main>` every `refreshMs`.
 *
 * Access: the console's bearer token, as an `Authorization: Bearer` header or typed once into the
 * login form, which sets an HttpOnly SameSite=Strict session cookie (web-auth.ts). A page asked for
 * without either redirects to /login; a refresh or a request with a wrong header gets 401. Listens
 * on loopback unless given a host. Responses forbid framing, inline script and third-party loads
 * (Content-Security-Policy) and caching. Nothing is logged (no token, no request line).
 *
 * Failure: a rendering error answers 500 for that request only; the server keeps serving.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsoleStore } from '../store.js';
import { webScript, webStyle } from './assets.js';
import { clusterContent } from './cluster-page.js';
import { clustersContent } from './clusters-page.js';
import { html } from './html.js';
import type { SafeHtml } from './html.js';
import { imagesContent, maxQueryChars, searchBox } from './images-page.js';
import { loginPage, page } from './layout.js';
import type { Section } from './layout.js';
import { WebAuth } from './web-auth.js';

interface WebViewOptions {
  /** `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT` (loopback); port 0 picks a free one. */
  listen: string;
  token: string;
  store: ConsoleStore;
  nowMs: () => number;
  /** How often an open page re-fetches its content. */
  refreshMs?: number;
}

export interface WebView {
  /** `http://host:port` to open. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const defaultWebRefreshMs = 2_000;
const maxLoginBodyBytes = 8 * 1024;

const securityHeaders: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** Splits a --web address; the host defaults to 127.0.0.1. Throws on a malformed address. */
export function parseWebListen(listen: string): { host: string; port: number } {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):)?(\d{1,5})$/.exec(listen.trim());
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new Error(`--web must be HOST:PORT, [IPv6]:PORT or PORT, got ${JSON.stringify(listen)}`);
  }
  const host = m[1] ?? (m[2] !== undefined && m[2] !== '' ? m[2] : '127.0.0.1');
  return { host, port };
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...securityHeaders,
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    ...extra,
  });
  res.end(body);
}

function redirect(res: ServerResponse, to: string, extra: Record<string, string> = {}): void {
  res.writeHead(303, { ...securityHeaders, Location: to, 'Content-Length': '0', ...extra });
  res.end();
}

function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxLoginBodyBytes) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () =>
      resolve(tooBig ? undefined : new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
    );
    req.on('error', () => resolve(undefined));
  });
}

export async function startWebView(opts: WebViewOptions): Promise<WebView> {
  const { host, port: wantedPort } = parseWebListen(opts.listen);
  const auth = new WebAuth(opts.token, opts.nowMs);
  const refreshMs = opts.refreshMs ?? defaultWebRefreshMs;

  const render = (
    res: ServerResponse,
    fragment: boolean,
    title: string,
    section: Section,
    content: SafeHtml,
    toolbar?: SafeHtml,
  ): void => {
    const nowMs = opts.nowMs();
    const headers = { 'X-Sightline-Now-Ms': String(nowMs) };
    if (fragment) send(res, 200, 'text/html; charset=utf-8', content.value, headers);
    else {
      const frame = { title, section, nowMs, refreshMs, ...(toolbar ? { toolbar } : {}) };
      send(res, 200, 'text/html; charset=utf-8', page(frame, content), headers);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://web.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/static/web.js')
      return send(res, 200, 'text/javascript; charset=utf-8', webScript);
    if (method === 'GET' && path === '/static/web.css')
      return send(res, 200, 'text/css; charset=utf-8', webStyle);
    if (path === '/login') {
      if (method === 'GET') return send(res, 200, 'text/html; charset=utf-8', loginPage(false));
      if (method !== 'POST')
        return send(res, 405, 'text/plain', 'method not allowed\n', { Allow: 'GET, POST' });
      const form = await readForm(req);
      if (form === undefined) return send(res, 413, 'text/plain', 'login form too large\n');
      if (auth.tokenMatches(form.get('token') ?? ''))
        return redirect(res, '/clusters', { 'Set-Cookie': auth.setCookie(auth.newSession()) });
      return send(res, 401, 'text/html; charset=utf-8', loginPage(true));
    }
    if (path === '/logout' && method === 'POST')
      return redirect(res, '/login', { 'Set-Cookie': auth.setCookie('') });
    if (method !== 'GET' && method !== 'HEAD')
      return send(res, 405, 'text/plain', 'the web view is read-only\n', { Allow: 'GET' });
    const fragment = req.headers['x-sightline-fragment'] === '1';
    if (!auth.allows(req)) {
      if (fragment || req.headers.authorization !== undefined)
        return send(res, 401, 'text/plain', 'missing or invalid token\n', {
          'WWW-Authenticate': 'Bearer realm="sightline"',
        });
      return redirect(res, '/login');
    }
    const nowMs = opts.nowMs();
    if (path === '/' || path === '/clusters')
      return render(res, fragment, 'Clusters', 'clusters', clustersContent(opts.store, nowMs));
    if (path.startsWith('/clusters/')) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice('/clusters/'.length));
      } catch {
        return send(res, 400, 'text/plain', 'malformed cluster id\n');
      }
      const content = clusterContent(opts.store, id, nowMs);
      if (content === undefined)
        return send(
          res,
          404,
          'text/html; charset=utf-8',
          page(
            { title: 'Not found', section: 'clusters', nowMs, refreshMs },
            html`<h1>No such cluster</h1>
              <p class="sub"><a href="/clusters">All clusters</a></p>`,
          ),
        );
      return render(res, fragment, 'Cluster', 'clusters', content);
    }
    if (path === '/images') {
      const query = (url.searchParams.get('q') ?? '').slice(0, maxQueryChars);
      return render(
        res,
        fragment,
        'Images',
        'images',
        imagesContent(opts.store, query, nowMs),
        searchBox(query),
      );
    }
    return send(res, 404, 'text/plain', 'not found\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wantedPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new Error(
      `web view cannot listen on ${opts.listen}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
