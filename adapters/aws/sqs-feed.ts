/**
 * An SQS queue of EventBridge events as a change feed (the shared ChangeFeed base: one upstream per
 * queue, fanned out to every consumer). What an event means is the provider's: `map` turns one
 * event into references to watched objects.
 *
 * Promise: long polls (ReceiveMessage, WaitTimeSeconds 20, 10 messages) through the shared AWS
 * call wrapper (`sqs:messages` budget); each message is a raw EventBridge event or an SNS
 * Notification wrapping one. Each received batch is delivered as `refs`, then a `bookmark` whose
 * cursor names the batch. A message is deleted (DeleteMessageBatch) only once every consumer
 * reported, through `durable(cursor, consumer)`, that a cursor at or after its batch is durable in
 * the outbox: at least once end to end. A consumer that subscribes from a cursor of this feed (a
 * list's, or its last bookmark's) gets the batches delivered after that cursor again, replayed from
 * a bounded log of recent batches (their messages may already be deleted: the other consumers had
 * them); a cursor older than the log reaches gives a gap (the engine relists).
 * Duplicates (EventBridge delivers at least once, SQS redelivers) are dropped by event id (a
 * bounded memory); a duplicate that slips past it is a no-op for the engine (same hash, same order).
 *
 * Held messages stay invisible: the queue's visibility timeout is read once (GetQueueAttributes;
 * SQS's default 30 s when that fails) and every batch not yet deleted has its visibility extended
 * (ChangeMessageVisibilityBatch) each third of it, so a consumer that is slow to make a batch
 * durable (reads or outbox writes failing and retried) does not get it redelivered, and after the
 * queue's maxReceiveCount moved to the dead-letter queue where nobody reads it. A batch that waits
 * DURABLE_WAIT_MS for a consumer is given up on: that consumer is sent a gap (its engine relists,
 * which covers the batch) and the batch is deleted, so a stuck consumer holds nothing forever.
 *
 * Unparseable and foreign messages (not JSON, not an EventBridge event, another source) are
 * counted (`changeFeedMessages{outcome}`), logged without their payload and deleted with their
 * batch: left to the queue's redrive policy they would come back maxReceiveCount times, each time
 * costing a receive and a log line, to end in the DLQ where nobody reads them; they cannot become
 * readable by waiting.
 *
 * Failure and fallback: a receive that fails is retried after the runtime backoff. When receives
 * have failed for `watchdogMs`, or the queue stayed silent for `silenceMs` while the reconciliation
 * found changes (`reconciled(n)`), the feed is in fallback: `fallback` is true,
 * `changeFeedFallback{feed}` is 1 and `health()` says why; the provider polls instead. The first
 * message after a silence, or the first successful receive after failures, ends the fallback and
 * sends every consumer a `gap` (the engine relists: what happened meanwhile is read once).
 * Time comes from the injected scheduler only.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Observable } from 'rxjs';
import type { Subscriber } from 'rxjs';
import type { ApiCallDeps, ApiCallPolicy } from '../../src/provider/api-call.js';
import { ChangeFeed } from '../../src/provider/change-feed.js';
import type { ChangeFeedDeps } from '../../src/provider/change-feed.js';
import { PageTokenCodec } from '../../src/provider/page-token.js';
import type { CheckResult } from '../../src/runtime/health.js';
import { LruMap } from '../../src/runtime/lru-map.js';
import type { CoreMetrics } from '../../src/runtime/metrics.js';
import type { Timers } from '../../src/runtime/timers.js';
import type { AuditItem } from './cloudtrail-feed.js';
import { callAws } from './call.js';

/** SQS's longest long poll. */
const RECEIVE_WAIT_SECONDS = 20;
/** SQS's largest receive. */
const RECEIVE_MAX_MESSAGES = 10;
/** SQS's largest batch of deletes or visibility changes. */
const SQS_BATCH_MAX = 10;
/** Event ids remembered to drop duplicates. */
const SEEN_EVENT_IDS_MAX = 50_000;
/** The queue visibility timeout assumed when GetQueueAttributes fails: SQS's default. */
const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;
/** A batch not made durable by every consumer within this is given up on (gap to the laggards, deleted). */
export const DURABLE_WAIT_MS = 10 * 60_000;
/** The longest wait between two visibility extension and durable-wait rounds. */
const KEEPER_MAX_INTERVAL_MS = 60_000;
/** Recent batches kept to replay to a consumer that subscribes from an older cursor (≤ 10 messages each). */
const REPLAY_BATCHES_MAX = 500;

/** An EventBridge event as delivered to a queue (raw, or inside an SNS Notification's `Message`). */
export interface EventBridgeEvent {
  id: string;
  detailType: string;
  source: string;
  account: string;
  region: string;
  time: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** What the provider makes of one event: counted as `outcome`; `mapped` with refs is delivered. */
export interface MappedFeedEvent<R> {
  outcome: string;
  refs: R[];
}

/** The event in an SQS message body, or undefined when it holds none. Never throws. */
export function parseEventMessage(body: string): EventBridgeEvent | undefined {
  let doc = parseObject(body);
  if (doc?.['Type'] === 'Notification' && typeof doc['Message'] === 'string')
    doc = parseObject(doc['Message']);
  if (!doc) return undefined;
  const id = doc['id'];
  const detailType = doc['detail-type'];
  const source = doc['source'];
  const detail = doc['detail'];
  if (typeof id !== 'string' || typeof detailType !== 'string' || typeof source !== 'string')
    return undefined;
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return undefined;
  const resources = Array.isArray(doc['resources'])
    ? doc['resources'].filter((r): r is string => typeof r === 'string')
    : [];
  return {
    id,
    detailType,
    source,
    account: typeof doc['account'] === 'string' ? doc['account'] : '',
    region: typeof doc['region'] === 'string' ? doc['region'] : '',
    time: typeof doc['time'] === 'string' ? doc['time'] : '',
    resources,
    detail: detail as Record<string, unknown>,
  };
}

function parseObject(s: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

interface SqsCursor {
  /** The feed instance that delivered the batch (a cursor of another instance acknowledges nothing). */
  i: string;
  /** The batch sequence number. */
  s: number;
}

export const sqsCursors = new PageTokenCodec<SqsCursor>('sqs-cursor', (v) => {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as { i?: unknown; s?: unknown };
  if (typeof o.i !== 'string' || typeof o.s !== 'number' || !Number.isInteger(o.s)) return undefined;
  return { i: o.i, s: o.s };
});

export interface SqsFeedOptions<R> {
  /** Names the feed in logs and the `feed` label of the metrics (e.g. `ecs/us-east-1`). */
  name: string;
  queueUrl: string;
  policy: ApiCallPolicy;
  map(event: EventBridgeEvent): MappedFeedEvent<R>;
  /** Receives failing this long put the feed in fallback. */
  watchdogMs: number;
  /** Silence this long while the reconciliation finds changes puts the feed in fallback. */
  silenceMs: number;
  /** Long poll length (default 20 s). */
  receiveWaitSeconds?: number;
}

export type SqsFeedDeps = ApiCallDeps &
  ChangeFeedDeps & { metrics: Pick<CoreMetrics, 'changeFeedFallback' | 'changeFeedMessages'> };

interface PendingBatch {
  seq: number;
  handles: string[];
  receivedMs: number;
  /** When the batch's messages become visible again unless extended. */
  visibleUntilMs: number;
}

/** A delivered batch as its consumers saw it, kept for replay. */
interface DeliveredBatch<R> {
  seq: number;
  refs: R[];
}

let instanceSeq = 0;

export class SqsFeed<R> extends ChangeFeed<AuditItem<R>, undefined> {
  /** Distinguishes this instance's cursors from a previous process's. */
  private readonly instance = `${process.pid.toString(36)}.${Date.now().toString(36)}.${++instanceSeq}`;
  private seq = 0;
  private readonly pending: PendingBatch[] = [];
  private readonly delivered: DeliveredBatch<R>[] = [];
  /** Each consumer's highest durable batch. Consumers stay known until close (see resubscribe). */
  private readonly acked = new Map<string, number>();
  private readonly seen = new LruMap<string, true>(SEEN_EVENT_IDS_MAX);
  /** Each subscribed consumer's subscriber (a gap goes to one consumer alone). */
  private readonly sinks = new Map<string, Subscriber<AuditItem<R>>>();
  /** The queue's visibility timeout, read once per feed. */
  private visibilityTimeoutMs: number | undefined;
  private abort = new AbortController();
  private failingSinceMs: number | undefined;
  private lastMessageMs: number;
  private fallbackReason: string | undefined;
  /** ReceiveMessage calls made (for measurements). */
  receives = 0;
  /** Messages whose visibility was extended (for measurements). */
  extended = 0;

  constructor(
    private readonly deps: SqsFeedDeps,
    private readonly client: SQSClient,
    private readonly options: SqsFeedOptions<R>,
  ) {
    super(deps, {
      name: `sqs/${options.name}`,
      // Messages stay in the queue until deleted: a new session loses nothing.
      resumable: true,
      gapItem: (reason) => ({ type: 'gap', reason }),
    });
    this.lastMessageMs = deps.scheduler.now();
    deps.metrics.changeFeedFallback.set({ feed: options.name }, 0);
  }

  /** True while the feed fails or is silent and the provider must poll instead. */
  get fallback(): boolean {
    return this.fallbackReason !== undefined;
  }

  /** A cursor naming everything delivered so far (taken before a list starts). */
  cursorNow(): string {
    return sqsCursors.encode({ i: this.instance, s: this.seq });
  }

  /** Items for `consumer` (a stable id, e.g. the source id), from `fromCursor`. */
  items(fromCursor: string | undefined, consumer: string): Observable<AuditItem<R>> {
    return new Observable<AuditItem<R>>((sub) => {
      const missed = this.register(consumer, this.seqOf(fromCursor));
      const s = this.subscribe(fromCursor).subscribe(sub);
      this.sinks.set(consumer, sub);
      // Before any new batch (those arrive asynchronously): what was delivered after the cursor.
      for (const item of missed) sub.next(item);
      return () => {
        if (this.sinks.get(consumer) === sub) this.sinks.delete(consumer);
        s.unsubscribe();
      };
    });
  }

  /** `consumer` made everything up to `cursor` durable: deletes the batches every consumer has. */
  durable(cursor: string, consumer: string): void {
    let c: SqsCursor;
    try {
      c = sqsCursors.decode(cursor);
    } catch {
      return;
    }
    if (c.i !== this.instance) return;
    const before = this.acked.get(consumer) ?? 0;
    if (c.s > before) this.acked.set(consumer, c.s);
    this.deleteDurable();
  }

  /** Deletes the batches every consumer has made durable. */
  private deleteDurable(): void {
    let upTo = Infinity;
    for (const s of this.acked.values()) upTo = Math.min(upTo, s);
    const done: PendingBatch[] = [];
    while (this.pending.length > 0 && (this.pending[0]?.seq ?? Infinity) <= upTo) {
      const b = this.pending.shift();
      if (b) done.push(b);
    }
    const handles = done.flatMap((b) => b.handles);
    if (handles.length > 0) void this.deleteMessages(handles);
  }

  /**
   * The reconciliation found `changes` the feed did not deliver: a feed silent past `silenceMs`
   * is taken as broken (fallback until its next message).
   */
  reconciled(changes: number): void {
    if (changes > 0 && this.now - this.lastMessageMs >= this.options.silenceMs)
      this.enterFallback('silent while the reconciliation found changes');
  }

  health(): CheckResult {
    if (this.fallbackReason === undefined)
      return { ok: true, detail: { mode: 'pushed', feed: this.options.name } };
    return { ok: true, detail: { mode: 'fallback', feed: this.options.name, reason: this.fallbackReason } };
  }

  protected join(fromCursor: string | undefined): undefined {
    // Only the cursor's form is checked (an unreadable one means a gap): the queue keeps what
    // nobody deleted, so there is no position to resume from.
    if (fromCursor !== undefined) sqsCursors.decode(fromCursor);
    return undefined;
  }

  protected override isRetryable(): boolean {
    return true;
  }

  protected override cancelled(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  override close(): void {
    super.close();
    this.deps.metrics.changeFeedFallback.set({ feed: this.options.name }, 0);
  }

  protected async session(timers: Timers): Promise<void> {
    this.visibilityTimeoutMs ??= await this.readVisibilityTimeout();
    this.keepVisible(timers);
    while (this.subscriberCount > 0 && !timers.isCancelled) {
      let messages: Message[];
      try {
        messages = await this.receive();
      } catch (err) {
        if (timers.isCancelled) return;
        this.failingSinceMs ??= this.now;
        if (this.now - this.failingSinceMs >= this.options.watchdogMs)
          this.enterFallback('receiving from the queue fails');
        this.deps.logger.warn({ err, feed: this.options.name }, 'SQS receive failed');
        throw err;
      }
      if (timers.isCancelled) return;
      this.failingSinceMs = undefined;
      if (this.fallbackReason === 'receiving from the queue fails') this.leaveFallback();
      if (messages.length === 0) continue;
      this.lastMessageMs = this.now;
      if (this.fallback) this.leaveFallback();
      this.deliverBatch(messages);
    }
  }

  private async receive(): Promise<Message[]> {
    const signal = this.abort.signal;
    this.receives++;
    const out = await callAws(this.deps, this.options.policy, 'ReceiveMessage', () =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: RECEIVE_MAX_MESSAGES,
          WaitTimeSeconds: this.options.receiveWaitSeconds ?? RECEIVE_WAIT_SECONDS,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        { abortSignal: signal },
      ),
    );
    return out.Messages ?? [];
  }

  private deliverBatch(messages: Message[]): void {
    const seq = ++this.seq;
    const handles: string[] = [];
    const refs: R[] = [];
    for (const m of messages) {
      if (m.ReceiptHandle !== undefined) handles.push(m.ReceiptHandle);
      const event = m.Body !== undefined ? parseEventMessage(m.Body) : undefined;
      if (event === undefined) {
        this.count('unparseable');
        this.deps.logger.warn(
          { feed: this.options.name, messageId: m.MessageId, bytes: m.Body?.length ?? 0 },
          'SQS message is no EventBridge event; counted and deleted',
        );
        continue;
      }
      if (this.seen.has(event.id)) {
        this.count('duplicate');
        continue;
      }
      const mapped = this.options.map(event);
      this.count(mapped.outcome);
      if (mapped.outcome === 'foreign')
        this.deps.logger.warn(
          {
            feed: this.options.name,
            messageId: m.MessageId,
            source: event.source,
            detailType: event.detailType,
          },
          'SQS message is an event of another source or account; counted and deleted',
        );
      this.seen.set(event.id, true);
      for (const r of mapped.refs) refs.push(r);
    }
    const now = this.now;
    this.pending.push({
      seq,
      handles,
      receivedMs: now,
      visibleUntilMs: now + (this.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS),
    });
    this.delivered.push({ seq, refs });
    if (this.delivered.length > REPLAY_BATCHES_MAX) this.delivered.shift();
    if (refs.length > 0) this.broadcast({ type: 'refs', refs });
    this.broadcast({ type: 'bookmark', cursor: sqsCursors.encode({ i: this.instance, s: seq }) });
  }

  /** The batch a cursor of this instance names (undefined: none, unreadable or another instance's). */
  private seqOf(cursor: string | undefined): number | undefined {
    if (cursor === undefined) return undefined;
    try {
      const c = sqsCursors.decode(cursor);
      return c.i === this.instance ? c.s : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A consumer subscribes from batch `fromSeq` (its cursor; undefined: a cursor of no batch of this
   * instance, i.e. from what it last acknowledged, or from now for a new consumer). Returns the
   * items of the batches delivered after that point, to replay to it alone, or a gap when the
   * replay log no longer reaches back that far.
   */
  private register(consumer: string, fromSeq: number | undefined): AuditItem<R>[] {
    const known = this.acked.get(consumer);
    const from = Math.min(fromSeq ?? known ?? this.seq, this.seq);
    // Not acknowledged yet: the batches after `from` wait for this consumer before deletion.
    if (known === undefined || from < known) this.acked.set(consumer, from);
    if (from >= this.seq) return [];
    const oldest = this.delivered[0]?.seq;
    if (oldest === undefined || oldest > from + 1)
      return [{ type: 'gap', reason: 'the feed delivered more since this cursor than it keeps for replay' }];
    const items: AuditItem<R>[] = [];
    for (const b of this.delivered) {
      if (b.seq <= from) continue;
      if (b.refs.length > 0) items.push({ type: 'refs', refs: b.refs });
      items.push({ type: 'bookmark', cursor: sqsCursors.encode({ i: this.instance, s: b.seq }) });
    }
    return items;
  }

  private async deleteMessages(handles: string[]): Promise<void> {
    // Not deleted: redelivered after the visibility timeout, a no-op for the engine.
    await this.inBatches(
      'DeleteMessageBatch',
      handles,
      (Entries) =>
        this.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries })),
      'SQS delete failed; messages will come again',
      (n) => this.count('acked', n),
    );
  }

  /**
   * Sends one entry per receipt handle, SQS_BATCH_MAX a call, through the call wrapper; `done` gets
   * the entries each call did not report failed. A call that fails is logged (`failure`) and the
   * rest go on. Resolves true when every call succeeded.
   */
  private async inBatches<E extends { Id: string; ReceiptHandle: string }>(
    operation: string,
    handles: string[],
    send: (entries: E[]) => Promise<{ Failed?: unknown[] }>,
    failure: string,
    done: (succeeded: number) => void,
    extra: Omit<E, 'Id' | 'ReceiptHandle'> = {} as Omit<E, 'Id' | 'ReceiptHandle'>,
  ): Promise<boolean> {
    let ok = true;
    for (let i = 0; i < handles.length; i += SQS_BATCH_MAX) {
      const entries = handles
        .slice(i, i + SQS_BATCH_MAX)
        .map((h, j) => ({ ...extra, Id: String(j), ReceiptHandle: h }) as E);
      try {
        const out = await callAws(this.deps, this.options.policy, operation, () => send(entries));
        done(entries.length - (out.Failed?.length ?? 0));
      } catch (err) {
        ok = false;
        this.deps.logger.warn({ err, feed: this.options.name }, failure);
      }
    }
    return ok;
  }

  /** The queue's VisibilityTimeout; SQS's default when it cannot be read (logged). */
  private async readVisibilityTimeout(): Promise<number> {
    try {
      const out = await callAws(this.deps, this.options.policy, 'GetQueueAttributes', () =>
        this.client.send(
          new GetQueueAttributesCommand({
            QueueUrl: this.options.queueUrl,
            AttributeNames: ['VisibilityTimeout'],
          }),
          { abortSignal: this.abort.signal },
        ),
      );
      const seconds = Number(out.Attributes?.['VisibilityTimeout']);
      if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
      throw new Error(
        `VisibilityTimeout ${String(out.Attributes?.['VisibilityTimeout'])} is not a positive number`,
      );
    } catch (err) {
      this.deps.logger.warn(
        { err, feed: this.options.name, assumedMs: DEFAULT_VISIBILITY_TIMEOUT_MS },
        "cannot read the queue's visibility timeout; extending held messages as if it were SQS's default",
      );
      return DEFAULT_VISIBILITY_TIMEOUT_MS;
    }
  }

  /**
   * Every third of the visibility timeout (at most a minute) while the session runs: gives up on batches that waited
   * DURABLE_WAIT_MS, and extends the visibility of every other held batch due within two thirds of it.
   */
  private keepVisible(timers: Timers): void {
    const visibilityMs = this.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS;
    const everyMs = Math.min(KEEPER_MAX_INTERVAL_MS, Math.max(1_000, Math.floor(visibilityMs / 3)));
    timers.set('visibility', everyMs, () => {
      this.expireDurableWaits();
      void this.extendVisibility(visibilityMs).finally(() => this.keepVisible(timers));
    });
  }

  private expireDurableWaits(): void {
    const floor = this.now - DURABLE_WAIT_MS;
    const late = this.pending.filter((b) => b.receivedMs <= floor);
    const upTo = late[late.length - 1]?.seq;
    if (upTo === undefined) return;
    for (const [consumer, acked] of this.acked) {
      if (acked >= upTo) continue;
      this.acked.set(consumer, upTo);
      this.deps.logger.warn(
        { feed: this.options.name, consumer, waitedMs: DURABLE_WAIT_MS },
        'SQS messages waited too long for this consumer to make them durable; it relists instead',
      );
      this.sinks.get(consumer)?.next({
        type: 'gap',
        reason: 'SQS messages waited too long for this consumer to make them durable',
      });
    }
    this.deleteDurable();
  }

  private async extendVisibility(visibilityMs: number): Promise<void> {
    const now = this.now;
    const due = this.pending.filter((b) => b.visibleUntilMs - now <= (visibilityMs * 2) / 3);
    // Not extended: those messages may come again, a no-op for the engine.
    const ok = await this.inBatches<{ Id: string; ReceiptHandle: string; VisibilityTimeout: number }>(
      'ChangeMessageVisibilityBatch',
      due.flatMap((b) => b.handles),
      (Entries) =>
        this.client.send(
          new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.options.queueUrl, Entries }),
        ),
      'SQS visibility extension failed',
      (n) => (this.extended += n),
      { VisibilityTimeout: Math.ceil(visibilityMs / 1000) },
    );
    if (ok) for (const b of due) b.visibleUntilMs = now + visibilityMs;
  }

  private enterFallback(reason: string): void {
    if (this.fallbackReason !== undefined) return;
    this.fallbackReason = reason;
    this.deps.metrics.changeFeedFallback.set({ feed: this.options.name }, 1);
    this.deps.logger.warn({ feed: this.options.name, reason }, 'change feed in fallback: polling instead');
  }

  private leaveFallback(): void {
    if (this.fallbackReason === undefined) return;
    this.fallbackReason = undefined;
    this.deps.metrics.changeFeedFallback.set({ feed: this.options.name }, 0);
    this.deps.logger.info({ feed: this.options.name }, 'change feed is back; relisting once');
    this.broadcast({ type: 'gap', reason: 'change feed back after fallback' });
  }

  private count(outcome: string, n = 1): void {
    this.deps.metrics.changeFeedMessages.inc({ feed: this.options.name, outcome }, n);
  }
}
