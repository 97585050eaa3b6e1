/**
 * The leader-election lock on a `coordination.k8s.io/v1` Lease, as client-go's
 * tools/leaderelection/resourcelock.LeaseLock: `get` reads the Lease (undefined when it does not
 * exist), `create` creates it, `update` replaces the spec of the Lease last read or written, with
 * that object's `resourceVersion`, so a write based on a stale read fails with a conflict (409)
 * instead of overwriting another candidate's record.
 *
 * Failure: every call rejects with a LeaseLockError naming the Lease and the HTTP status (a
 * conflict has `conflict: true`); nothing here retries (the elector does). Each call takes an
 * AbortSignal, passed to the HTTP request, so a hung API server cannot hold the elector past its
 * renew deadline. Credentials never appear in an error (the API server's message is cut to 200
 * characters and carries no token).
 */
import {
  CoordinationV1Api,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  V1MicroTime,
} from '@kubernetes/client-node';
import type { HttpLibrary, RequestContext, V1Lease } from '@kubernetes/client-node';

/** client-go's LeaderElectionRecord: what the Lease's spec says about the leader. */
export interface LeaderElectionRecord {
  /** Empty when nobody holds the lease (released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTimeMs: number | undefined;
  renewTimeMs: number | undefined;
  leaseTransitions: number;
}

export class LeaseLockError extends Error {
  constructor(
    message: string,
    /** HTTP status, 0 when no response arrived (network error, abort). */
    readonly status: number,
  ) {
    super(message);
  }

  get conflict(): boolean {
    return this.status === 409;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

export interface LeaseLock {
  /** `namespace/name`, for logs. */
  readonly description: string;
  /** The record and the resourceVersion it was read at; undefined when the Lease does not exist. */
  get(signal: AbortSignal): Promise<{ record: LeaderElectionRecord; resourceVersion: string } | undefined>;
  /**
   * Creates the Lease with `record` and returns its resourceVersion; a LeaseLockError with
   * `conflict` when someone created it first.
   */
  create(record: LeaderElectionRecord, signal: AbortSignal): Promise<string>;
  /**
   * Replaces the record of the Lease last read or written (conditional on its resourceVersion) and
   * returns the new resourceVersion; a LeaseLockError with `conflict` when it changed meanwhile.
   */
  update(record: LeaderElectionRecord, signal: AbortSignal): Promise<string>;
}

function toMicroTime(ms: number | undefined): V1MicroTime | undefined {
  return ms === undefined ? undefined : new V1MicroTime(ms);
}

/** client-node 1.x types MicroTime as a Date but hands over the RFC 3339 string as received. */
function toMs(d: Date | string | undefined): number | undefined {
  if (d === undefined) return undefined;
  const t = typeof d === 'string' ? Date.parse(d) : d.getTime();
  return Number.isFinite(t) ? t : undefined;
}

export function recordOf(lease: V1Lease): LeaderElectionRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTimeMs: toMs(spec.acquireTime as Date | string | undefined),
    renewTimeMs: toMs(spec.renewTime as Date | string | undefined),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function specOf(record: LeaderElectionRecord): NonNullable<V1Lease['spec']> {
  const spec: NonNullable<V1Lease['spec']> = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
  };
  const acquire = toMicroTime(record.acquireTimeMs);
  const renew = toMicroTime(record.renewTimeMs);
  if (acquire !== undefined) spec.acquireTime = acquire;
  if (renew !== undefined) spec.renewTime = renew;
  return spec;
}

/** Sends every request with `signal`, so an abort cancels it. */
function abortable(signal: AbortSignal): HttpLibrary {
  const inner = new IsomorphicFetchHttpLibrary();
  return {
    send(request: RequestContext) {
      request.setSignal(signal);
      return inner.send(request);
    },
  };
}

function errorOf(action: string, description: string, err: unknown): LeaseLockError {
  const e = err as { code?: unknown; body?: unknown; message?: unknown };
  const status = typeof e.code === 'number' ? e.code : 0;
  let detail = '';
  if (typeof e.body === 'string') {
    try {
      const parsed = JSON.parse(e.body) as { message?: unknown };
      detail = typeof parsed.message === 'string' ? parsed.message : e.body;
    } catch {
      detail = e.body;
    }
  } else if (err instanceof Error) {
    detail = err.name === 'AbortError' ? 'timed out' : err.message;
  }
  detail = detail.replace(/\s+/g, ' ').slice(0, 200);
  return new LeaseLockError(
    `${action} lease ${description} failed${status ? ` (HTTP ${status})` : ''}: ${detail || 'no detail'}`,
    status,
  );
}

export class KubernetesLeaseLock implements LeaseLock {
  readonly description: string;
  /** The Lease as last read or written: `update` writes on top of it. */
  private lease: V1Lease | undefined;

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.description = `${namespace}/${name}`;
  }

  async get(
    signal: AbortSignal,
  ): Promise<{ record: LeaderElectionRecord; resourceVersion: string } | undefined> {
    try {
      const lease = await this.api.readNamespacedLease(
        { name: this.name, namespace: this.namespace },
        { httpApi: abortable(signal) },
      );
      this.lease = lease;
      return { record: recordOf(lease), resourceVersion: lease.metadata?.resourceVersion ?? '' };
    } catch (err) {
      const e = errorOf('get', this.description, err);
      if (e.notFound) return undefined;
      throw e;
    }
  }

  async create(record: LeaderElectionRecord, signal: AbortSignal): Promise<string> {
    try {
      this.lease = await this.api.createNamespacedLease(
        {
          namespace: this.namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.name, namespace: this.namespace },
            spec: specOf(record),
          },
        },
        { httpApi: abortable(signal) },
      );
      return this.lease.metadata?.resourceVersion ?? '';
    } catch (err) {
      throw errorOf('create', this.description, err);
    }
  }

  async update(record: LeaderElectionRecord, signal: AbortSignal): Promise<string> {
    const lease = this.lease;
    if (lease === undefined) {
      throw new LeaseLockError(`update lease ${this.description}: not read yet (get or create first)`, 0);
    }
    try {
      this.lease = await this.api.replaceNamespacedLease(
        {
          name: this.name,
          namespace: this.namespace,
          body: { ...lease, spec: specOf(record) },
        },
        { httpApi: abortable(signal) },
      );
      return this.lease.metadata?.resourceVersion ?? '';
    } catch (err) {
      throw errorOf('update', this.description, err);
    }
  }
}

/**
 * The Kubernetes API credentials: in the cluster (the pod's service account token and CA, from
 * KUBERNETES_SERVICE_HOST/PORT), or a kubeconfig file (development, tests).
 */
export function leaseApi(kubeconfigFile: string | undefined): CoordinationV1Api {
  const kc = new KubeConfig();
  if (kubeconfigFile !== undefined) kc.loadFromFile(kubeconfigFile);
  else kc.loadFromCluster();
  return kc.makeApiClient(CoordinationV1Api);
}
