/**
 * The Cloud Run change feed pushed by a Log Router sink through Pub/Sub: ONE StreamingPull on the
 * subscription (the provider kit's `ChangeFeed`, @google-cloud/pubsub's client with one stream and
 * `maxOutstandingMessages` flow control), fanned out to every kind source of every configured
 * project; `PushedProjectFeed` is a project's view of it, with the project's audit tail as fallback.
 *
 * Contract of `PubsubFeed`:
 * - each message is LogEntry JSON as a sink exports it (`protoPayload` JSON with `@type`); it is
 *   mapped as the tail maps entries (`auditEntryToHints`: activity and system_event entries), counted
 *   once in `auditEntries` and in `changeFeedMessages{feed, outcome}`; its v1 Revision digests are
 *   recorded once;
 * - it is delivered to the registered sources of its project whose filter takes it, each followed by
 *   a bookmark (`caughtUp`) whose cursor names it; a source that joins later (its list was running)
 *   gets the messages still waiting for it, then a bookmark. It is acked only once every source it
 *   went to reported the bookmark durable (`durable`), so delivery is at least once end to end: a
 *   restart before the ack gets it redelivered, and reading it again changes nothing;
 * - acked at once, since nothing needs it: duplicates of an entry already acked (same `insertId`;
 *   dedupe memory bounded to `DEDUPE_MAX_IDS`; a duplicate of one still waiting is acked with it), entries that no source takes (`ignored`),
 *   entries from projects not configured (`foreign`: the sink may cover a folder or organization
 *   larger than the watched projects; they are counted, never mapped; there is no organization
 *   mode), and messages that are not LogEntry JSON (`unparseable`, logged without payload);
 * - a source that has not joined within `JOIN_WAIT_MS` of a message is dropped from it and owes a
 *   gap (it relists when it joins), and one that got it but has not made it durable within
 *   `DURABLE_WAIT_MS` is dropped from it and sent a gap at once (its engine relists), so a kind
 *   whose reads keep failing cannot hold the flow-control window, and every project, forever;
 * - watchdog: a session starts with GetSubscription (the subscription exists and can be read); it
 *   fails, the client reports a non-retryable error, or the stream stays down (the client's
 *   "stream ended" reports without a message since) for `silenceMs`: the feed is in FALLBACK
 *   (`changeFeedFallback{feed}` = 1, `health()` says why) and the kit's backoff opens a new
 *   session; the first session whose GetSubscription succeeds ends the fallback. A quiet fleet over
 *   an open stream is not silence. Messages delivered but not acked when a session ends are left to
 *   Pub/Sub's redelivery.
 * `PushedProjectFeed.items` merges the Pub/Sub items with, while in fallback, the project's tail
 * (AuditFeed): a switch to fallback after the start sends a gap first (the engine relists: what the
 * stream missed meanwhile is read at once, not when Pub/Sub redelivers it). Time comes from the
 * injected scheduler.
 */
import {
  BehaviorSubject,
  EMPTY,
  concat,
  defer,
  distinctUntilChanged,
  finalize,
  merge,
  of,
  switchMap,
} from 'rxjs';
import type { Observable } from 'rxjs';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { ChangeFeed } from '../../src/provider/change-feed.js';
import type { FeedSubscriber } from '../../src/provider/change-feed.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import type { CheckResult } from '../../src/runtime/health.js';
import type { Timers } from '../../src/runtime/timers.js';
import type { JsonObject } from './json.js';
import { isObject } from './json.js';
import type { AuditMapping, ContainerDigest, RevisionDigests } from './audit-mapper.js';
import { auditEntryToHints } from './audit-mapper.js';
import type { AuditFeed, FeedItem } from './audit-source.js';
import { canonicalTimestamp } from './log-cursor.js';
import { PROVIDER, runCall } from './call-policy.js';
import type { ProjectFeed } from './project-feed.js';
import { changesOf } from './project-feed.js';

/** Insert ids remembered (acked or waiting) to drop duplicates. */
export const DEDUPE_MAX_IDS = 50_000;
/** How long a message waits for a registered source that has not joined yet. */
export const JOIN_WAIT_MS = 5 * 60_000;
/**
 * How long a delivered message waits for a source to report it durable (its engine keeps failing
 * to read, or its outbox write keeps failing) before that source is sent a gap instead: a relist
 * covers the message, and the flow-control window is not held for every project meanwhile.
 */
export const DURABLE_WAIT_MS = 10 * 60_000;
const CURSOR_PREFIX = 'ps1';
const LOG_NAME_PROJECT_RE = /^projects\/([^/]+)\/logs\//;

export type FeedMode = 'pubsub' | 'fallback';

export interface PubsubFeedOptions {
  /** `projects/<p>/subscriptions/<s>`. */
  subscription: string;
  silenceMs: number;
  maxOutstandingMessages: number;
  /** The configured projects: entries of others are foreign. */
  projects: readonly string[];
  onRevisionDigests?: (d: RevisionDigests, containers: ContainerDigest[]) => void;
}

type FeedDeps = Pick<ProviderDeps, 'scheduler' | 'logger' | 'metrics' | 'budget'>;

interface SubState {
  readonly id: string;
}

/** A message waiting for the sources it went to (or will go to) to make it durable. */
interface Pending {
  readonly seq: number;
  readonly message: Message;
  /** Later deliveries of the same entry (duplicates, redeliveries): acked with it. */
  readonly copies: Message[];
  readonly insertId: string;
  readonly project: string;
  readonly item: { entry: JsonObject; mapping: AuditMapping; timestamp: string };
  readonly arrivedMs: number;
  /** Sources that still have to report it durable. */
  readonly waiting: Set<string>;
  /** Sources it was delivered to (by the current subscriber of that id). */
  readonly delivered: Set<string>;
}

interface Registered {
  project: string;
  accepts: (m: AuditMapping) => boolean;
}

/** Thrown to end a session whose stream stayed down for `silenceMs`. */
class FeedSilentError extends Error {
  override name = 'FeedSilentError';
}

let epochs = 0;

export class PubsubFeed extends ChangeFeed<FeedItem, SubState> {
  readonly feedLabel: string;
  private readonly epoch: string;
  private readonly mode = new BehaviorSubject<FeedMode>('pubsub');
  private reason = '';
  private readonly registered = new Map<string, Registered>();
  private readonly owedGap = new Set<string>();
  private readonly pending = new Map<number, Pending>();
  private readonly waitingIds = new Map<string, Pending>();
  private readonly done = new Set<string>();
  private readonly projects: ReadonlySet<string>;
  private seq = 0;
  private joiningId = '';
  private stopSession: ((err?: Error) => void) | undefined;

  constructor(
    private readonly client: PubSub,
    private readonly deps: FeedDeps,
    private readonly options: PubsubFeedOptions,
  ) {
    super(deps, {
      name: `pubsub/${options.subscription}`,
      resumable: true,
      gapItem: (reason) => ({ kind: 'gap', reason }),
    });
    this.feedLabel = `pubsub/${options.subscription}`;
    epochs += 1;
    this.epoch = `${deps.scheduler.now().toString(36)}.${epochs}`;
    this.projects = new Set(options.projects);
    deps.metrics.changeFeedFallback.set({ feed: this.feedLabel }, 0);
  }

  /** `pubsub` while the stream works, `fallback` while its sources read the tail instead. */
  get mode$(): Observable<FeedMode> {
    return this.mode.pipe(distinctUntilChanged());
  }

  get currentMode(): FeedMode {
    return this.mode.value;
  }

  health(): CheckResult {
    const detail: Record<string, unknown> = {
      feed: this.feedLabel,
      mode: this.mode.value,
      waiting: this.pending.size,
    };
    if (this.mode.value === 'fallback') detail['reason'] = this.reason;
    return { ok: true, detail };
  }

  /** Names a source and what it takes, before it subscribes (messages wait for it meanwhile). */
  register(id: string, project: string, accepts: (m: AuditMapping) => boolean): void {
    this.registered.set(id, { project, accepts });
  }

  /** The items of the registered source `id`. */
  itemsFor(id: string): Observable<FeedItem> {
    return defer(() => {
      this.joiningId = id;
      return this.subscribe(undefined);
    }).pipe(
      finalize(() => {
        // Its next subscriber gets again what this one got and did not make durable.
        for (const p of this.pending.values()) p.delivered.delete(id);
      }),
    );
  }

  /** The console holds what source `id` got up to `cursor`: ack what nobody else waits for. */
  durable(id: string, cursor: string): void {
    const parts = cursor.split('|');
    if (parts.length !== 3 || parts[0] !== CURSOR_PREFIX || parts[1] !== this.epoch) return;
    const upTo = Number(parts[2]);
    if (!Number.isInteger(upTo)) return;
    for (const p of [...this.pending.values()]) {
      if (p.seq > upTo) continue;
      if (!p.delivered.has(id)) continue;
      p.waiting.delete(id);
      if (p.waiting.size === 0) this.settle(p);
    }
  }

  protected join(): SubState {
    return { id: this.joiningId };
  }

  protected override joined(s: FeedSubscriber<FeedItem, SubState>): void {
    const id = s.state.id;
    if (this.owedGap.delete(id))
      s.next({ kind: 'gap', reason: 'Pub/Sub messages were acked before this source joined' });
    for (const p of [...this.pending.values()].sort((a, b) => a.seq - b.seq)) {
      if (!p.waiting.has(id)) continue;
      this.deliverTo(s, p);
    }
    s.next({ kind: 'caughtUp', cursor: this.cursor(this.seq) });
  }

  protected override isRetryable(): boolean {
    return true;
  }

  protected override cancelled(): void {
    this.stopSession?.();
  }

  protected async session(timers: Timers): Promise<void> {
    const sub: Subscription = this.client.subscription(this.options.subscription, {
      flowControl: { maxMessages: this.options.maxOutstandingMessages, allowExcessMessages: false },
      streamingOptions: { maxStreams: 1 },
    });
    try {
      await runCall(this.deps, 'GetSubscription', () => sub.getMetadata());
    } catch (err) {
      await sub.close().catch(() => undefined);
      this.fallBack(`GetSubscription failed: ${describe(err)}`);
      throw err;
    }
    if (timers.isCancelled) {
      await sub.close().catch(() => undefined);
      return;
    }
    this.recover();
    let downSinceMs: number | undefined;
    const ended = new Promise<Error | undefined>((resolve) => {
      this.stopSession = resolve;
    });
    sub.on('message', (m: Message) => {
      downSinceMs = undefined;
      this.onMessage(m);
    });
    sub.on('error', (err: Error) => this.stopSession?.(err));
    sub.on('debug', (d: { message?: string }) => {
      if (typeof d.message === 'string' && d.message.includes('has ended with status'))
        downSinceMs ??= this.now;
    });
    let active = true;
    const watchdog = (async () => {
      const tickMs = Math.max(1, Math.floor(this.options.silenceMs / 4));
      while (!timers.isCancelled) {
        await timers.sleep(tickMs);
        if (!active) return;
        this.expireWaits();
        if (downSinceMs !== undefined && this.now - downSinceMs >= this.options.silenceMs) {
          this.stopSession?.(new FeedSilentError(`StreamingPull down for ${this.now - downSinceMs} ms`));
          return;
        }
      }
      this.stopSession?.();
    })();
    const err = await ended;
    active = false;
    this.stopSession = undefined;
    sub.removeAllListeners('message');
    // What was delivered and not acked is left to Pub/Sub's redelivery.
    for (const p of this.pending.values()) this.waitingIds.delete(p.insertId);
    this.pending.clear();
    await sub.close().catch(() => undefined);
    void watchdog;
    if (err !== undefined && !timers.isCancelled) {
      this.fallBack(describe(err));
      throw err;
    }
  }

  private fallBack(reason: string): void {
    this.reason = reason;
    if (this.mode.value === 'fallback') return;
    this.deps.logger.warn(
      { feed: this.feedLabel, reason },
      'Pub/Sub change feed failed: the sources read the audit tail',
    );
    this.deps.metrics.changeFeedFallback.set({ feed: this.feedLabel }, 1);
    this.mode.next('fallback');
  }

  private recover(): void {
    if (this.mode.value === 'pubsub') return;
    this.deps.logger.info({ feed: this.feedLabel }, 'Pub/Sub change feed is back');
    this.deps.metrics.changeFeedFallback.set({ feed: this.feedLabel }, 0);
    this.reason = '';
    this.mode.next('pubsub');
  }

  private count(outcome: string): void {
    this.deps.metrics.changeFeedMessages.inc({ feed: this.feedLabel, outcome });
  }

  private cursor(seq: number): string {
    return `${CURSOR_PREFIX}|${this.epoch}|${seq}`;
  }

  private ackNow(m: Message, outcome: string): void {
    this.count(outcome);
    m.ack();
  }

  private remember(insertId: string): void {
    this.done.add(insertId);
    if (this.done.size > DEDUPE_MAX_IDS) {
      const oldest = this.done.values().next().value;
      if (oldest !== undefined) this.done.delete(oldest);
    }
  }

  private onMessage(m: Message): void {
    let entry: JsonObject;
    try {
      const parsed: unknown = JSON.parse(m.data.toString('utf8'));
      if (!isObject(parsed as JsonObject) || Array.isArray(parsed)) throw new Error('not a JSON object');
      entry = parsed as JsonObject;
    } catch {
      this.deps.logger.warn(
        { feed: this.feedLabel, messageId: m.id },
        'Pub/Sub message is not LogEntry JSON: acked and skipped',
      );
      this.ackNow(m, 'unparseable');
      return;
    }
    const insertId = typeof entry['insertId'] === 'string' ? entry['insertId'] : undefined;
    const timestamp =
      typeof entry['timestamp'] === 'string' ? canonicalTimestamp(entry['timestamp']) : undefined;
    const logName = typeof entry['logName'] === 'string' ? entry['logName'] : '';
    const project = LOG_NAME_PROJECT_RE.exec(logName)?.[1];
    if (insertId === undefined || timestamp === undefined || project === undefined) {
      this.deps.logger.warn(
        { feed: this.feedLabel, messageId: m.id },
        'Pub/Sub message lacks insertId, timestamp or logName: acked and skipped',
      );
      this.ackNow(m, 'unparseable');
      return;
    }
    const waitingFor = this.waitingIds.get(insertId);
    if (waitingFor !== undefined) {
      // Acking it now would ack the entry before the console holds it: it goes with the first.
      this.count('duplicate');
      waitingFor.copies.push(m);
      return;
    }
    if (this.done.has(insertId)) {
      this.ackNow(m, 'duplicate');
      return;
    }
    if (!this.projects.has(project)) {
      this.remember(insertId);
      this.ackNow(m, 'foreign');
      return;
    }
    const mapping = auditEntryToHints(entry);
    this.deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: mapping.outcome });
    const digests = mapping.revisionDigests;
    if (digests && digests.project === project) this.options.onRevisionDigests?.(digests, digests.containers);
    const waiting = new Set<string>();
    for (const [id, r] of this.registered) if (r.project === project && r.accepts(mapping)) waiting.add(id);
    if (waiting.size === 0) {
      this.remember(insertId);
      this.ackNow(m, 'ignored');
      return;
    }
    this.count('delivered');
    this.seq += 1;
    const p: Pending = {
      seq: this.seq,
      message: m,
      copies: [],
      insertId,
      project,
      item: { entry, mapping, timestamp },
      arrivedMs: this.now,
      waiting,
      delivered: new Set(),
    };
    this.pending.set(p.seq, p);
    this.waitingIds.set(insertId, p);
    for (const s of this.subscribers()) {
      if (!waiting.has(s.state.id)) continue;
      this.deliverTo(s, p);
      s.next({ kind: 'caughtUp', cursor: this.cursor(p.seq) });
    }
  }

  private deliverTo(s: FeedSubscriber<FeedItem, SubState>, p: Pending): void {
    p.delivered.add(s.state.id);
    s.next({ kind: 'entry', ...p.item, cursor: this.cursor(p.seq) });
  }

  private settle(p: Pending): void {
    this.pending.delete(p.seq);
    this.waitingIds.delete(p.insertId);
    this.remember(p.insertId);
    p.message.ack();
    for (const c of p.copies) c.ack();
  }

  /**
   * Drops from the messages waiting for them the sources that did not join within JOIN_WAIT_MS
   * (they owe a gap) and those that did not make them durable within DURABLE_WAIT_MS (sent a gap).
   */
  private expireWaits(): void {
    const joinFloor = this.now - JOIN_WAIT_MS;
    const durableFloor = this.now - DURABLE_WAIT_MS;
    const gapNow = new Set<string>();
    for (const p of [...this.pending.values()]) {
      if (p.arrivedMs > joinFloor) continue;
      for (const id of [...p.waiting]) {
        if (p.delivered.has(id)) {
          if (p.arrivedMs > durableFloor) continue;
          gapNow.add(id);
        } else {
          this.owedGap.add(id);
        }
        p.waiting.delete(id);
      }
      if (p.waiting.size === 0) this.settle(p);
    }
    if (gapNow.size === 0) return;
    for (const s of this.subscribers()) {
      if (!gapNow.delete(s.state.id)) continue;
      s.next({
        kind: 'gap',
        reason: 'Pub/Sub messages waited too long for this source to make them durable',
      });
    }
    for (const id of gapNow) this.owedGap.add(id);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}

/**
 * One project's change feed in pushed mode: the Pub/Sub items for its sources, and the project's
 * audit tail while the Pub/Sub feed is in fallback.
 */
export class PushedProjectFeed implements ProjectFeed {
  constructor(
    private readonly pushed: PubsubFeed,
    private readonly tail: AuditFeed,
  ) {}

  get live(): boolean {
    return this.pushed.currentMode === 'pubsub' || this.tail.live;
  }

  get liveChanges$(): Observable<boolean> {
    return changesOf(merge(this.pushed.mode$, this.tail.liveChanges$), () => this.live);
  }

  cursorAt(ms: number): string {
    return this.tail.cursorAt(ms);
  }

  items(
    fromCursor: string | undefined,
    accepts: ((m: AuditMapping) => boolean) | undefined,
    subscriberId: string,
  ): Observable<FeedItem> {
    const pushed$ = this.pushed.itemsFor(subscriberId);
    const tail$ = this.pushed.mode$.pipe(
      switchMap((mode, i) => {
        if (mode !== 'fallback') return EMPTY;
        if (i === 0) return this.tail.items(fromCursor, accepts);
        return concat(
          of<FeedItem>({ kind: 'gap', reason: 'Pub/Sub change feed failed: reading the audit tail' }),
          this.tail.items(undefined, accepts),
        );
      }),
    );
    return merge(pushed$, tail$);
  }

  durable(subscriberId: string, cursor: string): void {
    this.pushed.durable(subscriberId, cursor);
  }
}
