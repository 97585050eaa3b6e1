/**
 * Sending outbox batches, and setting aside the rows that cannot be delivered.
 *
 * - An accepted batch is acknowledged: its rows are deleted from the outbox.
 * - A batch the console rejects as INVALID_ARGUMENT (or that cannot be serialized) is split until
 *   the bad row is alone (`sendSplitting`), so every good row is acknowledged as usual. A row the
 *   console rejects on its own is moved to `outbox_rejected` (Outbox.reject: one transaction),
 *   counted in `sightline_console_rejected_items_total{rpc, reason="invalid_argument"}`, logged at
 *   error (rpc, seq, key; never the token), not re-sent unless an operator requeues it, and sending
 *   goes on at once; it counts as the console being reachable.
 * - A console that rejects everything is not a bad item: after `maxRejectedInARow` rows rejected on
 *   their own with nothing accepted in between, the row is kept and push health blocks for the
 *   permanent-error cooldown, until a batch is accepted again (or the process restarts).
 * - `setAside` moves the oldest pending row that this version cannot send (unknown rpc, unreadable
 *   or unserializable payload) to `outbox_rejected` likewise, counted with its reason
 *   (`unknown_rpc`, `unreadable_payload`, `unserializable`); the console did not judge it, so it is
 *   neither progress nor a step towards the limit above.
 * Health stays ok while rows are set aside; it reports how many are kept and the newest (no payload).
 * Never throws on the console's answers; a state database error propagates to the loop.
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { SchedulerLike } from 'rxjs';
import { redactSecrets } from '../runtime/logger.js';
import type { StateDatabase } from '../state/database.js';
import type { OutboxRow, PendingRow } from '../state/outbox-row.js';
import type { AgentCaller, AgentRpc } from './agent-rpc.js';
import type { Batch } from './outbox-batch.js';
import { buildBatch, quoted } from './outbox-batch.js';
import type { PushHealth } from './push-health.js';
import { sendSplitting } from './split-send.js';

/** Why an item was set aside (label `reason` of sightline_console_rejected_items_total). */
export type RejectReason = 'invalid_argument' | 'unknown_rpc' | 'unreadable_payload' | 'unserializable';

export const DEFAULT_MAX_REJECTED_IN_A_ROW = 100;

interface OutboxSenderDeps {
  db: StateDatabase;
  logger: Logger;
  scheduler: SchedulerLike;
  caller: AgentCaller;
  health: PushHealth;
  rejectedItems: Counter<'rpc' | 'reason'>;
  maxRejectedInARow: number;
  /** Whether the client still sends (false once stopped, halted or fenced). */
  running: () => boolean;
}

export class OutboxSender {
  /** Rows moved to outbox_rejected since a batch was last accepted. */
  private rejectedInARow = 0;

  constructor(private readonly deps: OutboxSenderDeps) {}

  /**
   * Sends `batch`, isolating rejected rows. True when every row was acknowledged or moved aside;
   * false (after recording the failure) when the client must wait before going on.
   */
  send(batch: Batch): Promise<boolean> {
    const { db, logger, caller } = this.deps;
    return sendSplitting(batch, {
      canCall: () => this.deps.running() && !db.closed,
      call: (part) => caller.call(part.rpc, part.request, part.items),
      canHandle: () => !db.closed,
      accepted: (part) => {
        this.rejectedInARow = 0;
        db.outbox.ack(part.lastSeq);
      },
      halves: (part, rejection, whole) => {
        const rows = part.rows;
        if (rows.length <= 1) return undefined;
        const mid = Math.ceil(rows.length / 2);
        logger[whole ? 'warn' : 'debug'](
          {
            rpc: part.rpc,
            rows: rows.length,
            firstSeq: rows[0]?.seq,
            lastSeq: part.lastSeq,
            reason: rejection.reason,
            error: rejection.detail,
          },
          rejection.reason === 'unserializable'
            ? 'a batch could not be serialized; splitting it to isolate the item(s) the protobuf schema refuses'
            : 'console rejected a batch as INVALID_ARGUMENT; splitting it to isolate the rejected item(s)',
        );
        return [
          buildBatch(rows.slice(0, mid), part.bodies.slice(0, mid), db.instanceId),
          buildBatch(rows.slice(mid), part.bodies.slice(mid), db.instanceId),
        ];
      },
      rejectedAlone: (part, rejection) => {
        const row = part.rows[0];
        if (row === undefined) return true;
        if (rejection.reason === 'unserializable') {
          this.setAside(part.rpc, row, rejection.detail, 'unserializable');
          return true;
        }
        return this.quarantine(part.rpc, row, rejection.detail);
      },
    });
  }

  /**
   * Moves the oldest pending row, which cannot be sent, to outbox_rejected with `detail` as the
   * reason: counted and logged like a rejected row, but not by the console, so neither progress nor
   * a step towards the reject-everything limit.
   */
  setAside(rpc: AgentRpc | 'unknown', row: PendingRow, detail: string, reason: RejectReason): void {
    const kept = this.deps.db.outbox.reject(row.seq, redactSecrets(detail), this.deps.scheduler.now());
    if (kept === undefined) return; // already gone
    this.deps.rejectedItems.inc({ rpc, reason });
    this.deps.logger.error(
      { rpc, outboxRpc: quoted(row.rpc), seq: row.seq, key: row.key, reason, error: detail },
      'outbox row cannot be sent; moved it to outbox_rejected (kept for inspection, not sent) and going on with the rest',
    );
  }

  /** Moves a row rejected on its own out of the outbox; false when the console seems to reject everything. */
  private quarantine(rpc: AgentRpc, row: OutboxRow, detail: string): boolean {
    const { db, health } = this.deps;
    if (this.rejectedInARow >= this.deps.maxRejectedInARow) {
      // The call was counted already (outcome invalid_argument).
      health.block(
        rpc,
        'invalid_argument',
        `${detail} (the console rejected ${this.rejectedInARow} items in a row on their own and accepted none: ` +
          'keeping this one and pausing, since a console that rejects everything is not a bad item)',
      );
      return false;
    }
    const rejected = db.outbox.reject(row.seq, detail, this.deps.scheduler.now());
    if (rejected === undefined) return true; // already gone (acknowledged or moved by someone else)
    // Progress: the console is reachable, accepts our token, and the outbox moves on.
    health.reachable();
    this.rejectedInARow += 1;
    this.deps.rejectedItems.inc({ rpc, reason: 'invalid_argument' });
    this.deps.logger.error(
      {
        rpc,
        seq: row.seq,
        key: row.key,
        error: detail,
        rejectedKept: db.outbox.rejectedCount,
      },
      'console rejected an item on its own; moved it to outbox_rejected (not re-sent) and going on with the rest',
    );
    return true;
  }
}
