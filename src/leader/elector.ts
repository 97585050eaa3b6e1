/**
 * Leader election on a Lease, client-go's tools/leaderelection loop (LeaderElector.Run) in
 * TypeScript, with the same record, the same timings and the same rules:
 *
 * - acquire: every `retryPeriodMs` (jittered by [1.0, 1.2)) try to get the Lease; create it when it
 *   does not exist; take it when nobody holds it or the holder's lease expired; otherwise wait. The
 *   candidate also wakes exactly when the observed lease expires, so a take-over comes within
 *   `leaseDurationMs` + one retry of the last renewal the candidate saw.
 * - expiry is judged only on the local clock: a lease is valid until `leaseDurationSeconds` after
 *   the moment THIS process last saw its record change (client-go's observedTime). The remote
 *   `renewTime` is written for humans and never compared with the local clock.
 * - renew: every `retryPeriodMs` the leader updates the Lease (conditional on the resourceVersion it
 *   last read or wrote; a 409 conflict is a failed attempt, not an error). When no renewal
 *   succeeded for `renewDeadlineMs` since the start of the last successful one, or the Lease names
 *   someone else, leadership is lost: `onStoppedLeading` runs at once, before any other candidate
 *   can take the lease (renewDeadline < leaseDuration), and the loop goes back to acquiring.
 * - `leaseTransitions` grows by one on every change of holder; with the holder identity it is the
 *   leader's epoch (fencing token, see epoch.ts).
 * - `stepDown` (the console refused a push as fenced) ends leadership like a loss; the replica then
 *   takes the lease again only after it expired and with a new term.
 * - `stop` (releaseOnCancel): when leading, writes the Lease with an empty holder and
 *   `leaseDurationSeconds: 1`, as client-go's release, so a standby takes over within about one
 *   retry period instead of a lease duration.
 *
 * Failure: API errors, timeouts (each call is aborted at the renew deadline) and conflicts are
 * logged and retried; nothing throws out of `run()`. Callbacks must not throw (a throw is logged).
 */
import type { SchedulerLike } from 'rxjs';
import type { Logger } from 'pino';
import { delay, jittered, systemScheduler } from '../runtime/clock.js';
import type { LeaderEpoch } from './epoch.js';
import type { LeaderElectionRecord, LeaseLock } from './lease-lock.js';

export interface ElectionTimings {
  /** How long a non-leader waits after it last saw the lease change before taking it. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership. */
  renewDeadlineMs: number;
  /** Wait between attempts (acquire and renew). */
  retryPeriodMs: number;
}

/** client-go's and controller-runtime's defaults. */
export const DEFAULT_ELECTION_TIMINGS: ElectionTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Acquire retries wait retryPeriod × [1.0, 1.2): client-go jitters by a factor of 1.2; this keeps the take-over bound tight. */
export const RETRY_JITTER_HIGH = 1.2;

export type StopReason = 'lost' | 'fenced' | 'shutdown';

export interface ElectorCallbacks {
  /** This replica leads with `epoch` (push with it). */
  onStartedLeading(epoch: LeaderEpoch): void;
  /** This replica must stop leading now: stop every source and push at once. */
  onStoppedLeading(reason: StopReason, detail: string): void;
  /** The observed holder changed (empty when the lease was released). */
  onNewLeader?(holder: string): void;
}

export interface LeaderElectorOptions extends ElectionTimings {
  identity: string;
  lock: LeaseLock;
  callbacks: ElectorCallbacks;
  logger: Logger;
  scheduler?: SchedulerLike;
  random?: () => number;
  /** Release the lease on stop() (client-go ReleaseOnCancel). Default true. */
  releaseOnCancel?: boolean;
}

export interface ElectorStatus {
  role: 'leader' | 'standby';
  identity: string;
  /** The holder this replica last saw in the Lease; empty when nobody holds it or not read yet. */
  holder: string;
  /** The epoch this replica leads with. */
  epoch?: LeaderEpoch;
  lease: string;
}

type Attempt = { ok: true } | { ok: false; heldBy?: string };

export class LeaderElector {
  private readonly scheduler: SchedulerLike;
  private readonly random: () => number;
  private readonly abort = new AbortController();
  /** Aborted to end the current leadership early (stepDown or stop). */
  private leadership = new AbortController();
  private running: Promise<void> | undefined;

  private observed: LeaderElectionRecord | undefined;
  private observedRv: string | undefined;
  /** Local time at which `observed` was last seen to change. */
  private observedTimeMs = 0;
  /** Highest leaseTransitions ever seen: a Lease that was deleted is re-created above it. */
  private highestTermSeen = -1;
  private leading: LeaderEpoch | undefined;
  /** Set by stepDown: do not renew the term we were fenced in. */
  private fenced = false;
  private fencedDetail = '';
  private lastHolder: string | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.scheduler = options.scheduler ?? systemScheduler;
    this.random = options.random ?? Math.random;
    if (!(options.renewDeadlineMs < options.leaseDurationMs)) {
      throw new Error('leader election: renewDeadlineMs must be less than leaseDurationMs');
    }
    if (!(options.retryPeriodMs < options.renewDeadlineMs)) {
      throw new Error('leader election: retryPeriodMs must be less than renewDeadlineMs');
    }
  }

  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  status(): ElectorStatus {
    const s: ElectorStatus = {
      role: this.leading ? 'leader' : 'standby',
      identity: this.options.identity,
      holder: this.observed?.holderIdentity ?? '',
      lease: this.options.lock.description,
    };
    if (this.leading) s.epoch = this.leading;
    return s;
  }

  /** Starts the loop (acquire → lead → renew → back to acquire) until stop(). */
  start(): void {
    this.running ??= this.loop();
  }

  /**
   * Ends the current leadership because someone newer leads (the console fenced a push): the loop
   * calls onStoppedLeading('fenced') at once and acquires again only after the lease expired.
   */
  stepDown(detail: string): void {
    if (!this.leading || this.fenced) return;
    this.fenced = true;
    this.fencedDetail = detail;
    this.leadership.abort();
  }

  /** Stops the loop; when leading, releases the lease (releaseOnCancel). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.leadership.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { logger, identity, lock } = this.options;
    logger.info({ identity, lease: lock.description }, 'leader election: candidate');
    while (!this.abort.signal.aborted) {
      const epoch = await this.acquire();
      if (epoch === undefined) break;
      this.leading = epoch;
      this.fenced = false;
      this.leadership = new AbortController();
      logger.info(
        { identity, term: epoch.term, lease: lock.description },
        'leader election: became the leader',
      );
      this.call(() => this.options.callbacks.onStartedLeading(epoch));
      const [reason, detail] = await this.renew();
      if (reason === 'shutdown') {
        await this.release();
        this.leading = undefined;
        this.call(() => this.options.callbacks.onStoppedLeading('shutdown', detail));
        break;
      }
      this.leading = undefined;
      logger.warn({ identity, term: epoch.term, reason, detail }, 'leader election: stopped leading');
      this.call(() => this.options.callbacks.onStoppedLeading(reason, detail));
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.logger.error({ err }, 'leader election callback failed');
    }
  }

  /** Tries until this replica holds the lease; undefined when stopped. */
  private async acquire(): Promise<LeaderEpoch | undefined> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    while (!this.abort.signal.aborted) {
      const result = await this.tryAcquireOrRenew(renewDeadlineMs, this.abort.signal);
      if (this.abort.signal.aborted) return undefined;
      if (result.ok && this.observed) {
        return { term: this.observed.leaseTransitions, holder: this.options.identity };
      }
      let waitMs = jittered(retryPeriodMs, 1, RETRY_JITTER_HIGH, this.random);
      const expiresInMs = this.expiresAtMs() - this.scheduler.now();
      if (result.ok === false && result.heldBy !== undefined && expiresInMs >= 0) {
        waitMs = Math.min(waitMs, expiresInMs + 1);
      }
      await delay(waitMs, this.scheduler, this.abort.signal);
    }
    return undefined;
  }

  /** Renews until leadership ends; returns why and a detail for the log. */
  private async renew(): Promise<[StopReason, string]> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    let lastRenewStartMs = this.observedTimeMs;
    for (;;) {
      await delay(retryPeriodMs, this.scheduler, this.leadership.signal);
      if (this.abort.signal.aborted) return ['shutdown', 'stopping'];
      if (this.fenced) return ['fenced', this.fencedDetail];
      const startMs = this.scheduler.now();
      const remainingMs = lastRenewStartMs + renewDeadlineMs - startMs;
      if (remainingMs <= 0) {
        return ['lost', `no renewal succeeded within renewDeadline (${renewDeadlineMs} ms)`];
      }
      const result = await this.tryAcquireOrRenew(remainingMs, this.leadership.signal);
      if (this.abort.signal.aborted) return ['shutdown', 'stopping'];
      if (this.fenced) return ['fenced', this.fencedDetail];
      if (result.ok) {
        lastRenewStartMs = startMs;
        continue;
      }
      if (result.heldBy !== undefined) return ['lost', `the lease is held by ${result.heldBy}`];
      if (this.scheduler.now() >= lastRenewStartMs + renewDeadlineMs) {
        return ['lost', `no renewal succeeded within renewDeadline (${renewDeadlineMs} ms)`];
      }
    }
  }

  private ownsObserved(): boolean {
    return this.observed?.holderIdentity === this.options.identity && !this.fenced;
  }

  private expiresAtMs(): number {
    const seconds = this.observed?.leaseDurationSeconds ?? 0;
    const durationMs = seconds > 0 ? seconds * 1000 : this.options.leaseDurationMs;
    return this.observedTimeMs + durationMs;
  }

  private setObserved(
    record: LeaderElectionRecord,
    resourceVersion: string | undefined,
    nowMs: number,
  ): void {
    this.observed = record;
    this.observedRv = resourceVersion;
    this.observedTimeMs = nowMs;
    this.highestTermSeen = Math.max(this.highestTermSeen, record.leaseTransitions);
    if (record.holderIdentity !== this.lastHolder) {
      this.lastHolder = record.holderIdentity;
      if (record.holderIdentity !== this.options.identity) {
        this.options.logger.info(
          { holder: record.holderIdentity || '(none)', lease: this.options.lock.description },
          'leader election: new holder observed',
        );
      }
      const holder = record.holderIdentity;
      this.call(() => this.options.callbacks.onNewLeader?.(holder));
    }
  }

  /** client-go tryAcquireOrRenew: one attempt, bounded by `timeoutMs`. */
  private async tryAcquireOrRenew(timeoutMs: number, cancel?: AbortSignal): Promise<Attempt> {
    const { lock, identity, logger } = this.options;
    const timeout = new AbortController();
    const timer = this.scheduler.schedule(() => timeout.abort(), Math.max(0, timeoutMs));
    const onCancel = (): void => timeout.abort();
    cancel?.addEventListener('abort', onCancel, { once: true });
    const signal = timeout.signal;
    try {
      const nowMs = this.scheduler.now();
      const record: LeaderElectionRecord = {
        holderIdentity: identity,
        leaseDurationSeconds: Math.max(1, Math.ceil(this.options.leaseDurationMs / 1000)),
        acquireTimeMs: nowMs,
        renewTimeMs: nowMs,
        leaseTransitions: 0,
      };
      // Fast path: the leader renews on top of what it wrote last, without a read.
      if (this.ownsObserved() && this.observed && this.expiresAtMs() > nowMs) {
        record.acquireTimeMs = this.observed.acquireTimeMs;
        record.leaseTransitions = this.observed.leaseTransitions;
        try {
          const rv = await lock.update(record, signal);
          this.setObserved(record, rv, nowMs);
          return { ok: true };
        } catch (err) {
          logger.debug({ err }, 'leader election: optimistic renew failed; reading the lease');
          if (signal.aborted) return { ok: false };
        }
      }
      let current;
      try {
        current = await lock.get(signal);
      } catch (err) {
        logger.warn({ err }, 'leader election: cannot read the lease');
        return { ok: false };
      }
      if (current === undefined) {
        record.leaseTransitions = this.highestTermSeen + 1;
        try {
          const rv = await lock.create(record, signal);
          this.setObserved(record, rv, nowMs);
          return { ok: true };
        } catch (err) {
          logger.warn({ err }, 'leader election: cannot create the lease');
          return { ok: false };
        }
      }
      if (current.resourceVersion !== this.observedRv || this.observed === undefined) {
        this.setObserved(current.record, current.resourceVersion, nowMs);
      }
      const observed = this.observed ?? current.record;
      if (observed.holderIdentity !== '' && this.expiresAtMs() > nowMs && !this.ownsObserved()) {
        return { ok: false, heldBy: observed.holderIdentity };
      }
      if (this.ownsObserved()) {
        record.acquireTimeMs = observed.acquireTimeMs;
        record.leaseTransitions = observed.leaseTransitions;
      } else {
        record.leaseTransitions = Math.max(observed.leaseTransitions, this.highestTermSeen) + 1;
      }
      try {
        const rv = await lock.update(record, signal);
        this.setObserved(record, rv, nowMs);
        return { ok: true };
      } catch (err) {
        const conflict = (err as { conflict?: unknown }).conflict === true;
        logger[conflict ? 'debug' : 'warn']({ err }, 'leader election: cannot update the lease');
        return { ok: false };
      }
    } finally {
      timer.unsubscribe();
      cancel?.removeEventListener('abort', onCancel);
    }
  }

  /** client-go release: an empty holder and a 1 s lease, so a standby takes over at once. */
  private async release(): Promise<void> {
    const { lock, logger, releaseOnCancel = true } = this.options;
    const observed = this.observed;
    if (!releaseOnCancel || !observed || observed.holderIdentity !== this.options.identity) return;
    const nowMs = this.scheduler.now();
    const record: LeaderElectionRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTimeMs: nowMs,
      renewTimeMs: nowMs,
      leaseTransitions: observed.leaseTransitions,
    };
    const timeout = new AbortController();
    const timer = this.scheduler.schedule(() => timeout.abort(), this.options.renewDeadlineMs);
    try {
      const rv = await lock.update(record, timeout.signal);
      this.setObserved(record, rv, nowMs);
      logger.info({ lease: lock.description }, 'leader election: released the lease');
    } catch (err) {
      logger.warn({ err }, 'leader election: cannot release the lease; it expires on its own');
    } finally {
      timer.unsubscribe();
    }
  }
}
