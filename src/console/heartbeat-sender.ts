/**
 * Sending heartbeats: the coalesced activity of (cluster, controller) pairs, as Heartbeat RPCs.
 *
 * Each call has its own batch id (`<db instance>-hb-<time>-<n>-<pairs>`). Accepted pairs are marked
 * sent. Pairs are independent of the outbox and of each other: a Heartbeat the console rejects as
 * INVALID_ARGUMENT is split like an outbox batch (`sendSplitting`), and a pair rejected on its own is
 * dropped from pending activity (marked sent), logged at error and counted in
 * `sightline_console_rejected_items_total{rpc="Heartbeat", reason="invalid_argument"}`, with no
 * cooldown. Nothing that matters is lost: activity is a coalesced "last seen", so the pair's next
 * activity makes it pending again with a fresh value. After `maxRejectedInARow` pairs dropped with
 * none accepted, rejected parts are dropped whole instead of split (bounding the calls per round).
 * Never throws on the console's answers; a state database error propagates to the loop.
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { SchedulerLike } from 'rxjs';
import type { PendingActivity } from '../state/activity-store.js';
import type { StateDatabase } from '../state/database.js';
import type { AgentCaller } from './agent-rpc.js';
import { sendSplitting } from './split-send.js';
import type { HeartbeatRequest } from './wire-types.js';

interface HeartbeatSenderDeps {
  db: StateDatabase;
  logger: Logger;
  scheduler: SchedulerLike;
  caller: AgentCaller;
  rejectedItems: Counter<'rpc' | 'reason'>;
  maxRejectedInARow: number;
  /** Whether the client still sends (false once stopped, halted or fenced). */
  running: () => boolean;
}

export class HeartbeatSender {
  /** Heartbeat pairs dropped since a Heartbeat was last accepted. */
  private rejectedInARow = 0;
  /** Makes every Heartbeat batch id unique, also for parts of a split sent in the same millisecond. */
  private calls = 0;

  constructor(private readonly deps: HeartbeatSenderDeps) {}

  /**
   * Sends `items`. True when every pair was acknowledged or dropped; false (after recording the
   * failure) when the client must wait before going on.
   */
  send(items: PendingActivity[]): Promise<boolean> {
    const { db, logger, caller } = this.deps;
    return sendSplitting(items, {
      canCall: () => this.deps.running() && !db.closed,
      call: (part) => caller.call('Heartbeat', this.request(part), part.length),
      canHandle: () => !db.closed,
      accepted: (part) => {
        this.rejectedInARow = 0;
        db.activity.markSent(part);
      },
      halves: (part, rejection, whole) => {
        if (part.length <= 1 || this.rejectedInARow >= this.deps.maxRejectedInARow) return undefined;
        const mid = Math.ceil(part.length / 2);
        logger[whole ? 'warn' : 'debug'](
          { rpc: 'Heartbeat', pairs: part.length, error: rejection.detail },
          'console rejected a heartbeat batch as INVALID_ARGUMENT; splitting it to isolate the rejected pair(s)',
        );
        return [part.slice(0, mid), part.slice(mid)];
      },
      rejectedAlone: (part, rejection) => {
        this.drop(part, rejection.detail);
        return true;
      },
    });
  }

  private request(items: readonly PendingActivity[]): HeartbeatRequest {
    const now = this.deps.scheduler.now();
    this.calls += 1;
    return {
      batch_id: `${this.deps.db.instanceId}-hb-${now}-${this.calls}-${items.length}`,
      activities: items.map((a) => ({
        cluster_id: a.clusterId,
        controller_name: a.controllerName,
        profile: a.profile,
        namespace: '',
        last_seen_ms: a.lastSeenMs,
      })),
    };
  }

  /** Drops rejected heartbeat pairs from pending activity: their next activity carries a fresh value. */
  private drop(pairs: PendingActivity[], detail: string): void {
    this.deps.db.activity.markSent(pairs);
    this.rejectedInARow += pairs.length;
    this.deps.rejectedItems.inc({ rpc: 'Heartbeat', reason: 'invalid_argument' }, pairs.length);
    this.deps.logger.error(
      {
        rpc: 'Heartbeat',
        pairs: pairs.length,
        first: pairs.slice(0, 5).map((a) => ({ clusterId: a.clusterId, controller: a.controllerName })),
        error: detail,
      },
      'console rejected heartbeat activity on its own; dropped it (the next heartbeat carries a fresh value) and going on',
    );
  }
}
