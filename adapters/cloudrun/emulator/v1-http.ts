/**
 * The emulator's regional v1 (Knative) REST API for revisions, over plain HTTP:
 *   GET {base}/regions/{region}/apis/serving.knative.dev/v1/namespaces/{project}/revisions/{name}
 *   GET {base}/regions/{region}/apis/serving.knative.dev/v1/namespaces/{project}/revisions?limit=&continue=
 * (`runV1BaseUrl` is `http://127.0.0.1:PORT/regions/{region}`). Answers 404 with a Status body for
 * unknown revisions, and injected HTTP failures from Faults.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Fleet } from './fleet.js';
import type { CallLog, Faults } from './faults.js';

const PATH_RE =
  /^\/regions\/([^/]+)\/apis\/serving\.knative\.dev\/v1\/namespaces\/([^/]+)\/revisions(?:\/([^/?]+))?$/;
export const V1_MAX_LIMIT = 500;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function createV1Server(fleet: Fleet, calls: CallLog, faults: Faults): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = PATH_RE.exec(url.pathname);
    if (req.method !== 'GET' || !m)
      return send(res, 404, { code: 404, message: `no route ${req.method} ${url.pathname}` });
    const [, region = '', project = '', name] = m;
    calls.record(name === undefined ? 'v1:ListRevisions' : 'v1:GetRevision');
    const failure = faults.v1Failures.shift();
    if (failure !== undefined) return send(res, failure, { code: failure, message: 'injected failure' });
    const prefix = `projects/${project}/locations/${region}/services/`;
    if (name !== undefined) {
      for (const full of fleet.revisions.keys()) {
        if (full.startsWith(prefix) && full.endsWith(`/revisions/${name}`))
          return send(res, 200, fleet.v1Revision(full));
      }
      return send(res, 404, { code: 404, status: 'NOT_FOUND', message: `Revision ${name} not found` });
    }
    const limit = Math.min(
      Number(url.searchParams.get('limit') ?? V1_MAX_LIMIT) || V1_MAX_LIMIT,
      V1_MAX_LIMIT,
    );
    const offset = Number(url.searchParams.get('continue') ?? '0') || 0;
    const names = [...fleet.revisions.keys()].filter((k) => k.startsWith(prefix)).sort();
    const items = names.slice(offset, offset + limit).map((n) => fleet.v1Revision(n));
    const metadata: Record<string, string> = {};
    if (offset + limit < names.length) metadata['continue'] = String(offset + limit);
    return send(res, 200, { apiVersion: 'serving.knative.dev/v1', kind: 'RevisionList', metadata, items });
  });
}
