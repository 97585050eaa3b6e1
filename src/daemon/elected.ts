/**
 * The daemon with leader election (config `leaderElection.enabled`): two or more replicas, one
 * active. Every replica serves /healthz, /readyz and /metrics; only the leader runs the watcher (a
 * Daemon per leadership term: sources, console client, pushes carrying the term's epoch).
 *
 * Promises:
 * - a standby calls no cloud API and pushes nothing; `/healthz` shows `checks.leader` (role,
 *   identity, holder, term) and `sightline_leader` is 0; it is ready once it read the Lease.
 * - losing the lease (or a push fenced by the console) halts every push at once, synchronously in
 *   the elector's callback, then stops the term's sources; the replica goes back to standby.
 * - a new term starts fresh from this replica's own state directory: relist, and a full-state
 *   resync per cluster once the first lists are in (the console drops what no longer exists).
 * - `stop()` (SIGTERM) stops the term first (flushing its outbox within the deadline), then
 *   releases the lease so a standby takes over within about a retry period.
 * Failure: a term whose start fails is logged and the replica steps down (the lease expires, a
 * healthier replica takes it); Lease API errors are retried by the elector and never crash it.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { SchedulerLike } from 'rxjs';
import type { Config } from '../config/schema.js';
import { Health } from '../runtime/health.js';
import type { CheckResult } from '../runtime/health.js';
import { startHttpServer } from '../runtime/http-server.js';
import type { HttpServerHandle } from '../runtime/http-server.js';
import { gauge } from '../runtime/metrics.js';
import { systemScheduler } from '../runtime/clock.js';
import { LeaderElector } from '../leader/elector.js';
import type { ElectorStatus, StopReason } from '../leader/elector.js';
import type { LeaderEpoch } from '../leader/epoch.js';
import { KubernetesLeaseLock, leaseApi } from '../leader/lease-lock.js';
import type { LeaseLock } from '../leader/lease-lock.js';
import { Daemon } from './daemon.js';
import type { DaemonOptions } from './daemon.js';

/** `<pod name>_<8 hex>`: unique per process, so a restarted pod never inherits its old epoch. */
export function replicaIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['POD_NAME'] ?? hostname();
  return `${base}_${randomBytes(4).toString('hex')}`;
}

/** The Lease lock from config: in-cluster credentials, or `leaderElection.kubeconfig`. */
export function leaseLockFor(config: Config): LeaseLock {
  const le = config.leaderElection;
  if (le.kubeconfig === undefined && process.env['KUBERNETES_SERVICE_HOST'] === undefined) {
    throw new Error(
      'leaderElection is enabled but this is not a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset) ' +
        'and no leaderElection.kubeconfig is given',
    );
  }
  return new KubernetesLeaseLock(leaseApi(le.kubeconfig), le.namespace ?? 'default', le.leaseName);
}

export interface ReplicaCheck extends CheckResult {
  detail: { role: 'leader' | 'standby'; identity: string; holder: string; lease: string; term?: number };
}

/** /livez, /healthz and /readyz of a replica: the term's own checks while leading, the leader check always. */
class ReplicaHealth extends Health {
  constructor(private readonly replica: ElectedDaemon) {
    super();
  }

  override readiness(): { ready: boolean; pending: string[] } {
    const term = this.replica.term;
    if (term !== undefined) return term.health.readiness();
    return this.replica.leaseRead
      ? { ready: true, pending: [] }
      : { ready: false, pending: ['leader-election'] };
  }

  override livez(): { ok: boolean; checks: Record<string, CheckResult> } {
    const term = this.replica.term;
    return term !== undefined ? term.health.livez() : { ok: true, checks: {} };
  }

  override liveness(): { ok: boolean; checks: Record<string, CheckResult> } {
    const term = this.replica.term;
    const inner = term !== undefined ? term.health.liveness() : { ok: true, checks: {} };
    const s = this.replica.status();
    const leader: ReplicaCheck = {
      ok: true,
      detail: {
        role: s.role,
        identity: s.identity,
        holder: s.holder,
        lease: s.lease,
        ...(s.epoch !== undefined ? { term: s.epoch.term } : {}),
      },
    };
    return { ok: inner.ok, checks: { leader, ...inner.checks } };
  }
}

export interface ElectedDaemonOptions extends Omit<DaemonOptions, 'term'> {
  /** Defaults to the Lease named in the config (leaseLockFor). */
  lock?: LeaseLock;
  identity?: string;
}

export class ElectedDaemon {
  readonly health: Health;
  readonly identity: string;
  /** The running term's Daemon while leading. */
  term: Daemon | undefined;
  /** Whether the Lease was read (or written) at least once. */
  leaseRead = false;
  private readonly scheduler: SchedulerLike;
  private readonly elector: LeaderElector;
  private http: HttpServerHandle | undefined;
  /** Term starts and stops, one after the other (a term's database is closed before the next opens it). */
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    readonly config: Config,
    private readonly options: ElectedDaemonOptions,
  ) {
    this.scheduler = options.scheduler ?? systemScheduler;
    this.identity = options.identity ?? replicaIdentity();
    this.health = new ReplicaHealth(this);
    const leaderGauge = gauge(
      options.registry,
      'sightline_leader',
      '1 while this replica leads, 0 on standby',
      [],
    );
    leaderGauge.set(0);
    const le = config.leaderElection;
    this.elector = new LeaderElector({
      identity: this.identity,
      lock: options.lock ?? leaseLockFor(config),
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      scheduler: this.scheduler,
      logger: options.logger,
      callbacks: {
        onStartedLeading: (epoch) => {
          leaderGauge.set(1);
          this.startTerm(epoch);
        },
        onStoppedLeading: (reason, detail) => {
          leaderGauge.set(0);
          this.stopTerm(reason, detail);
        },
        onNewLeader: () => {
          this.leaseRead = true;
        },
      },
    });
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  status(): ElectorStatus {
    return this.elector.status();
  }

  async start(): Promise<void> {
    const { logger } = this.options;
    this.http = await startHttpServer(this.config.http.listen, this.health, this.options.registry);
    logger.info(
      { listen: `${this.http.host}:${this.http.port}`, identity: this.identity },
      'operations server listening (leader election on: standby until this replica holds the lease)',
    );
    this.elector.start();
  }

  private startTerm(epoch: LeaderEpoch): void {
    const { logger } = this.options;
    this.chain = this.chain.then(async () => {
      const now = this.elector.status().epoch;
      if (this.stopping || now === undefined || now.term !== epoch.term) return;
      const term = new Daemon(this.config, {
        ...this.options,
        term: { epoch, onFenced: (detail) => this.elector.stepDown(detail) },
      });
      this.term = term;
      logger.info(
        { term: epoch.term, identity: this.identity },
        'leading: starting the watcher from the state directory (relist, then a full-state resync)',
      );
      try {
        await term.start();
      } catch (err) {
        logger.error({ err }, 'leading: the watcher failed to start; stepping down');
        this.elector.stepDown('the watcher failed to start');
      }
    });
  }

  private stopTerm(reason: StopReason, detail: string): void {
    const term = this.term;
    this.term = undefined;
    if (term === undefined && reason === 'shutdown') return;
    // At once: no push leaves this replica from here on.
    term?.halt();
    this.options.logger.warn(
      { reason, detail },
      'not leading any more: stopped pushing; stopping the sources',
    );
    this.chain = this.chain.then(async () => {
      await term?.stop(0);
    });
  }

  /** Stops the term (flushing its outbox within the deadline), then releases the lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.chain;
    const term = this.term;
    this.term = undefined;
    await term?.stop();
    await this.elector.stop();
    await this.chain;
    await this.http?.close();
  }
}
