/**
 * A wire-level emulator of the Kubernetes Lease API on loopback (tests, `npm run bench -- leader`),
 * like the provider emulators: the real @kubernetes/client-node client talks to it unchanged.
 * GET / POST / PUT /apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}] with JSON bodies, a
 * resourceVersion that changes on every write, 409 Conflict on a PUT whose
 * metadata.resourceVersion is stale (or on a POST of an existing Lease), 404 Not Found as a
 * `Status` object, like the API server. Faults: `failNext(n, status)` answers the next n requests
 * with that status; `hang(true)` holds every request without answering (a partitioned API server).
 * `kubeconfig()` writes a kubeconfig file pointing at it.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';

export interface StoredLease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    uid: string;
    creationTimestamp: string;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaseWrite {
  method: 'POST' | 'PUT';
  name: string;
  holder: string;
  transitions: number;
  status: number;
}

const PATH_RE = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?(?:\?.*)?$/;

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res
    .writeHead(code, { 'content-type': 'application/json' })
    .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
}

export class FakeLeaseApi {
  readonly leases = new Map<string, StoredLease>();
  readonly writes: LeaseWrite[] = [];
  requests = 0;
  private version = 100;
  private failures: { n: number; status: number } = { n: 0, status: 500 };
  private hanging = false;
  private readonly held: ServerResponse[] = [];

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeLeaseApi> {
    const ref: { api?: FakeLeaseApi } = {};
    const server = createServer((req, res) => {
      ref.api?.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.api = new FakeLeaseApi(server, (server.address() as AddressInfo).port);
    return ref.api;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Writes a kubeconfig file for this server (no credentials) and returns its path. */
  kubeconfig(file: string): string {
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "${this.url}", insecure-skip-tls-verify: true } }]
users: [{ name: fake, user: {} }]
contexts: [{ name: fake, context: { cluster: fake, user: fake, namespace: default } }]
current-context: fake
`,
    );
    return file;
  }

  lease(namespace: string, name: string): StoredLease | undefined {
    return this.leases.get(`${namespace}/${name}`);
  }

  failNext(n: number, statusCode = 500): void {
    this.failures = { n, status: statusCode };
  }

  hang(on: boolean): void {
    this.hanging = on;
    if (!on) for (const res of this.held.splice(0)) status(res, 503, 'ServiceUnavailable', 'was hanging');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests += 1;
    if (this.hanging) {
      this.held.push(res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.failures.n > 0) {
        this.failures.n -= 1;
        status(res, this.failures.status, 'InternalError', 'injected failure');
        return;
      }
      const m = PATH_RE.exec(req.url ?? '');
      if (!m) {
        status(res, 404, 'NotFound', `the server could not find the requested resource (${req.url ?? ''})`);
        return;
      }
      const namespace = decodeURIComponent(m[1] ?? '');
      const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
      let body: Partial<StoredLease> = {};
      if (chunks.length > 0) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<StoredLease>;
        } catch {
          status(res, 400, 'BadRequest', 'body is not JSON');
          return;
        }
      }
      this.route(req.method ?? 'GET', namespace, name, body, res);
    });
  }

  private route(
    method: string,
    namespace: string,
    name: string | undefined,
    body: Partial<StoredLease>,
    res: ServerResponse,
  ): void {
    const send = (code: number, lease: StoredLease): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(lease));
    };
    if (method === 'GET' && name !== undefined) {
      const lease = this.leases.get(`${namespace}/${name}`);
      if (!lease) status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      else send(200, lease);
      return;
    }
    if (method === 'POST' && name === undefined) {
      const newName = body.metadata?.name ?? '';
      const key = `${namespace}/${newName}`;
      const spec = body.spec ?? {};
      if (this.leases.has(key)) {
        this.record('POST', newName, spec, 409);
        status(res, 409, 'AlreadyExists', `leases.coordination.k8s.io "${newName}" already exists`);
        return;
      }
      const lease: StoredLease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: newName,
          namespace,
          resourceVersion: String(++this.version),
          uid: `uid-${this.version}`,
          creationTimestamp: new Date().toISOString(),
        },
        spec,
      };
      this.leases.set(key, lease);
      this.record('POST', newName, spec, 201);
      send(201, lease);
      return;
    }
    if (method === 'PUT' && name !== undefined) {
      const key = `${namespace}/${name}`;
      const existing = this.leases.get(key);
      const spec = body.spec ?? {};
      if (!existing) {
        this.record('PUT', name, spec, 404);
        status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
        return;
      }
      if (body.metadata?.resourceVersion !== existing.metadata.resourceVersion) {
        this.record('PUT', name, spec, 409);
        status(
          res,
          409,
          'Conflict',
          `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
        return;
      }
      const lease: StoredLease = {
        ...existing,
        metadata: { ...existing.metadata, resourceVersion: String(++this.version) },
        spec,
      };
      this.leases.set(key, lease);
      this.record('PUT', name, spec, 200);
      send(200, lease);
      return;
    }
    status(res, 405, 'MethodNotAllowed', `${method} is not supported here`);
  }

  private record(method: 'POST' | 'PUT', name: string, spec: StoredLease['spec'], code: number): void {
    this.writes.push({
      method,
      name,
      holder: spec.holderIdentity ?? '',
      transitions: spec.leaseTransitions ?? 0,
      status: code,
    });
  }

  /** Deletes a Lease (as `kubectl delete lease` would). */
  delete(namespace: string, name: string): void {
    this.leases.delete(`${namespace}/${name}`);
  }

  async stop(): Promise<void> {
    this.hang(false);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
