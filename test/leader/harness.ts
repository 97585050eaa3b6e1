/**
 * Elector test harness: replicas (LeaderElector + the real KubernetesLeaseLock through
 * @kubernetes/client-node) against the FakeLeaseApi on loopback, on virtual time. Between virtual
 * steps `settle()` waits until every Lease call a replica started has been answered (or is held by
 * a hanging fake), so time never moves while a request is on the wire. A replica's lock can be
 * made to hang (a partitioned or paused pod) without touching the others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { createLogger } from '../../src/runtime/logger.js';
import { LeaderElector } from '../../src/leader/elector.js';
import type { ElectionTimings, StopReason } from '../../src/leader/elector.js';
import type { LeaderEpoch } from '../../src/leader/epoch.js';
import { KubernetesLeaseLock, leaseApi } from '../../src/leader/lease-lock.js';
import type { LeaderElectionRecord, LeaseLock } from '../../src/leader/lease-lock.js';
import { FakeLeaseApi } from '../../src/leader/lease-emulator.js';

export const NAMESPACE = 'sightline';
export const LEASE = 'sightline-acme';

export type ReplicaEvent =
  | { at: number; type: 'started'; epoch: LeaderEpoch }
  | { at: number; type: 'stopped'; reason: StopReason; detail: string };

/** Counts calls in flight; `hanging` holds new calls until released (they then fail as aborted). */
class CountingLock implements LeaseLock {
  pending = 0;
  held = 0;
  hanging = false;
  private readonly releases: Array<() => void> = [];

  constructor(private readonly inner: LeaseLock) {}

  get description(): string {
    return this.inner.description;
  }

  setHanging(on: boolean): void {
    this.hanging = on;
    if (!on) for (const r of this.releases.splice(0)) r();
  }

  private async wrap<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    this.pending += 1;
    try {
      if (this.hanging) {
        this.held += 1;
        try {
          await new Promise<void>((resolve) => {
            this.releases.push(resolve);
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
        } finally {
          this.held -= 1;
        }
        throw new Error('lease call aborted (replica partitioned)');
      }
      return await call();
    } finally {
      this.pending -= 1;
    }
  }

  get(signal: AbortSignal): ReturnType<LeaseLock['get']> {
    return this.wrap(signal, () => this.inner.get(signal));
  }

  create(record: LeaderElectionRecord, signal: AbortSignal): Promise<string> {
    return this.wrap(signal, () => this.inner.create(record, signal));
  }

  update(record: LeaderElectionRecord, signal: AbortSignal): Promise<string> {
    return this.wrap(signal, () => this.inner.update(record, signal));
  }
}

export interface Replica {
  identity: string;
  elector: LeaderElector;
  lock: CountingLock;
  events: ReplicaEvent[];
}

export class ElectionWorld {
  readonly scheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
  readonly replicas: Replica[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'sightline-lease-'));
  readonly kubeconfig: string;

  private constructor(readonly api: FakeLeaseApi) {
    this.kubeconfig = api.kubeconfig(join(this.dir, 'kubeconfig'));
  }

  static async start(): Promise<ElectionWorld> {
    return new ElectionWorld(await FakeLeaseApi.start());
  }

  now(): number {
    return this.scheduler.now();
  }

  replica(identity: string, timings: ElectionTimings, opts: { releaseOnCancel?: boolean } = {}): Replica {
    const lock = new CountingLock(new KubernetesLeaseLock(leaseApi(this.kubeconfig), NAMESPACE, LEASE));
    const events: ReplicaEvent[] = [];
    const elector = new LeaderElector({
      ...timings,
      identity,
      lock,
      scheduler: this.scheduler,
      logger: createLogger({ level: 'silent', pretty: false }),
      random: () => 0.5,
      ...(opts.releaseOnCancel !== undefined ? { releaseOnCancel: opts.releaseOnCancel } : {}),
      callbacks: {
        onStartedLeading: (epoch) => events.push({ at: this.now(), type: 'started', epoch }),
        onStoppedLeading: (reason, detail) =>
          events.push({ at: this.now(), type: 'stopped', reason, detail }),
      },
    });
    const r = { identity, elector, lock, events };
    this.replicas.push(r);
    return r;
  }

  /** Waits (without moving time) until no replica has a Lease call on the wire. */
  async settle(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      for (let k = 0; k < 3; k++) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.replicas.every((r) => r.lock.pending === r.lock.held)) return;
    }
    throw new Error('lease calls did not settle');
  }

  async advance(ms: number): Promise<void> {
    const target = this.scheduler.frame + ms;
    await this.settle();
    for (;;) {
      const next = this.scheduler.actions[0];
      if (!next || next.delay > target) break;
      this.scheduler.maxFrames = next.delay;
      this.scheduler.flush();
      await this.settle();
    }
    this.scheduler.maxFrames = Number.POSITIVE_INFINITY;
    if (this.scheduler.frame < target) this.scheduler.frame = target;
    await this.settle();
  }

  /** Advances in `stepMs` steps until `check` holds; returns the virtual time it took. */
  async until(what: string, check: () => boolean, maxMs: number, stepMs = 50): Promise<number> {
    const start = this.now();
    while (!check()) {
      if (this.now() - start > maxMs) throw new Error(`not within ${maxMs} virtual ms: ${what}`);
      await this.advance(stepMs);
    }
    return this.now() - start;
  }

  leaders(): string[] {
    return this.replicas.filter((r) => r.elector.isLeader).map((r) => r.identity);
  }

  async close(): Promise<void> {
    for (const r of this.replicas) r.lock.setHanging(false);
    const stops = this.replicas.map((r) => r.elector.stop());
    await this.advance(30_000);
    await Promise.all(stops);
    await this.api.stop();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  }
}
