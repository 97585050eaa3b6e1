/**
 * The audit feed of one project: Cloud Run Admin Activity and System Event entries, read by ONE
 * TailLogEntries session (bidi) with ListLogEntries catch-up, shared by every watch source of the
 * project (the provider kit's `ChangeFeed`: one upstream, fanned out to each subscriber).
 *
 * Contract of `items(fromCursor, accepts?)`:
 * - every entry after `fromCursor` ((timestamp, insertId) order) is delivered once to that
 *   subscriber: the tail is opened first (and confirmed, or given a grace period), then
 *   ListLogEntries catches up from the subscriber's cursor, then live tail entries follow; entries
 *   seen on both paths are dropped by insertId. A subscriber that joins while the tail is live gets
 *   its own catch-up (the live entries meanwhile are held for it, then replayed); the tail stays one.
 *   Entries up to `LATE_ENTRY_WINDOW_MS` older than the cursor that were not seen yet are still
 *   delivered on a catch-up (with the cursor of the newest entry, so cursors never go back);
 * - each entry is decoded and mapped once (`auditEntryToHints`): the item carries the mapping, the
 *   outcome is counted once in `auditEntries{provider, outcome}` and the v1 Revision digests an entry
 *   carries are recorded once, whatever the number of subscribers; `accepts` picks the entries a
 *   subscriber wants (gaps and bookmarks reach every subscriber);
 * - the stream ending (1 h deadline, OUT_OF_RANGE), a cut or UNAVAILABLE reconnects with the kit's
 *   backoff (`TAIL_RECONNECT_BACKOFF`: 800 ms doubling, 30 s cap, no jitter, back to 800 ms after a
 *   session that lived 2 minutes) and catches every subscriber up again from its own cursor: no gap,
 *   no duplicate; a throttled catch-up is retried the same way;
 * - `suppression_info` yields a `gap` item (the engine relists);
 * - RESOURCE_EXHAUSTED on the tail switches to ListLogEntries polling every `logPollIntervalMs`
 *   (the tail is tried again after `TAIL_RETRY_EVERY_POLLS` polls);
 * - while a tail is live, the entries the session delivered (its catch-ups and the tail) are kept for
 *   `REPLAY_WINDOW_MS` (at most `REPLAY_MAX_ENTRIES`): a subscriber whose catch-up starts inside
 *   what they cover is caught up from them, without a ListLogEntries call (the kinds of a project
 *   join one after another as their lists finish; the Logging read quota is small);
 * - `caughtUp` items carry the subscriber's cursor after each catch-up and each tail batch (bookmarks);
 * - an unreadable cursor yields a `gap` and starts from now;
 * - any other failure (a catch-up ListLogEntries refused, a tail ending with an unexpected status)
 *   errors every subscriber's stream: the engine backs off and resubscribes from its last cursor.
 * `live` is true while a confirmed tail session is open (the sources' cheap polls slow down then);
 * `liveChanges$` emits it each time it changes (a session confirmed, ended, or given up).
 * Entries that do not decode are counted (`auditEntries{outcome="malformed"}`) and skipped.
 * Every wait (tail-open grace, reconnect backoff, poll interval, the turn given to a stream's error
 * after its end) runs on the injected scheduler; the last subscriber leaving cancels them all.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { LoggingServiceV2Client } from '@google-cloud/logging-api';
import { Subject } from 'rxjs';
import type { Observable } from 'rxjs';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { ChangeFeed } from '../../src/provider/change-feed.js';
import type { FeedSubscriber } from '../../src/provider/change-feed.js';
import { PageTokenError } from '../../src/provider/page-token.js';
import type { BackoffOptions } from '../../src/runtime/backoff.js';
import { Timers } from '../../src/runtime/timers.js';
import type { JsonObject } from './json.js';
import { PROVIDER, countCall, grpcCode, outcomeOf, runCall } from './call-policy.js';
import { LOGGING_TAIL_BUCKET } from './limits.js';
import { changesOf } from './project-feed.js';
import { logEntryToJson } from './log-entry.js';
import type { LogCursor } from './log-cursor.js';
import {
  compareCursors,
  canonicalTimestamp,
  parseCursor,
  serializeCursor,
  timestampFromMs,
  timestampToMs,
} from './log-cursor.js';
import type { AuditMapping, ContainerDigest, RevisionDigests } from './audit-mapper.js';
import { RUN_SERVICE_NAME, auditEntryToHints } from './audit-mapper.js';

export type FeedItem =
  /** `timestamp`: the entry's own (canonical RFC 3339); `cursor`: the subscriber's after it (never older). */
  | { kind: 'entry'; entry: JsonObject; mapping: AuditMapping; cursor: string; timestamp: string }
  | { kind: 'gap'; reason: string }
  | { kind: 'caughtUp'; cursor: string };

const LOG_PAGE_SIZE = 1000;
const LATE_ENTRY_WINDOW_MS = 60_000;
/** Insert ids remembered per subscriber before the oldest (outside the late window) are pruned. */
const SEEN_PRUNE_AT = 1024;
export const TAIL_OPEN_GRACE_MS = 1_000;
/** How long, and how many, entries of a live session are kept to catch later subscribers up. */
const REPLAY_WINDOW_MS = 10 * 60_000;
const REPLAY_MAX_ENTRIES = 2_000;
/** Reconnect waits: client-go's constants without jitter (reset after 2 min of health: the kit's). */
const TAIL_RECONNECT_BACKOFF: Partial<BackoffOptions> = { jitter: 0 };
/** In polling fallback, the tail is tried again after this many polls. */
export const TAIL_RETRY_EVERY_POLLS = 60;
/** Tail statuses after which we reconnect (anything else except RESOURCE_EXHAUSTED errors the feed). */
const RECONNECT_CODES = new Set<number>([
  GrpcStatus.OK,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.CANCELLED,
  GrpcStatus.INTERNAL,
  GrpcStatus.ABORTED,
  GrpcStatus.UNKNOWN,
]);

export interface AuditFeedOptions {
  bufferWindowMs: number;
  logPollIntervalMs: number;
  /** Receives the v1 Revision digests an entry carries (once per entry). */
  onRevisionDigests?: (d: RevisionDigests, containers: ContainerDigest[]) => void;
}

export type FeedDeps = Pick<ProviderDeps, 'budget' | 'metrics' | 'scheduler' | 'logger'>;

interface TailResponse {
  entries?: Array<Record<string, unknown>> | null;
  suppressionInfo?: Array<{ reason?: unknown; suppressedCount?: unknown }> | null;
}

interface TailStream {
  write(req: object): boolean;
  cancel(): void;
  on(event: 'data', l: (r: TailResponse) => void): unknown;
  on(event: 'error', l: (e: Error) => void): unknown;
  on(event: 'end' | 'close', l: () => void): unknown;
}

/** What `TailSession.next` returns when woken without a response (a subscriber needs catch-up). */
const WOKEN = 'woken';

/** One TailLogEntries session: buffers responses until drained. */
class TailSession {
  private readonly buffer: TailResponse[] = [];
  private wake: (() => void) | undefined;
  private woken = false;
  end: { code: number; message: string } | undefined;
  readonly opened: Promise<void>;
  confirmed = false;
  private markOpened: () => void = () => undefined;

  constructor(
    private readonly stream: TailStream,
    timers: Timers,
    private readonly changed: () => void,
  ) {
    this.opened = new Promise<void>((resolve) => (this.markOpened = resolve));
    stream.on('data', (r) => {
      if (!this.confirmed) {
        this.confirmed = true;
        this.changed();
      }
      this.markOpened();
      this.buffer.push(r);
      this.poke();
    });
    stream.on('error', (e) => this.finish(grpcCode(e) ?? GrpcStatus.UNKNOWN, e.message));
    // 'end' / 'close' may precede the 'error' carrying the status: give the error a turn first.
    stream.on('end', () => timers.set('tail-end', 0, () => this.finish(GrpcStatus.OK, 'stream ended')));
    stream.on('close', () => timers.set('tail-close', 0, () => this.finish(GrpcStatus.OK, 'stream closed')));
  }

  private finish(code: number, message: string): void {
    if (!this.end) {
      this.end = { code, message };
      this.changed();
    }
    this.markOpened();
    this.poke();
  }

  /** Makes a pending (or the next) `next()` return WOKEN. */
  interrupt(): void {
    this.woken = true;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next response, WOKEN when interrupted, or undefined once the stream ended. */
  async next(): Promise<TailResponse | typeof WOKEN | undefined> {
    for (;;) {
      const r = this.buffer.shift();
      if (r) return r;
      if (this.end) return undefined;
      if (this.woken) {
        this.woken = false;
        return WOKEN;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  cancel(): void {
    try {
      this.stream.cancel();
    } catch {
      // already closed
    }
    this.finish(GrpcStatus.CANCELLED, 'cancelled');
  }
}

/** An entry decoded once, delivered to each subscriber that has not seen it. */
interface DecodedEntry {
  json: JsonObject;
  pos: LogCursor;
  mapping: AuditMapping;
  /** Whether its outcome was counted (once, at its first delivery). */
  counted: boolean;
}

/** One subscriber's position and dedupe memory. */
interface SubscriberState {
  cursor: LogCursor;
  /** Entries after this timestamp (exclusive) that are not in `seen` were never delivered. */
  trackingFrom: string;
  readonly seen: Map<string, string>;
  /** Live entries held back until this subscriber's catch-up ran; undefined once it is live. */
  held: DecodedEntry[] | undefined;
}

type Subscriber = FeedSubscriber<FeedItem, SubscriberState>;

/**
 * The entries a live session delivered, in arrival order, complete for every timestamp at or after
 * `from` (after it when `fromExclusive`); undefined `from`: complete for nothing.
 */
class Replay {
  private entries: DecodedEntry[] = [];
  private readonly ids = new Set<string>();
  from: string | undefined;
  private fromExclusive = false;

  constructor(private readonly now: () => number) {}

  reset(): void {
    this.entries = [];
    this.ids.clear();
    this.from = undefined;
    this.fromExclusive = false;
  }

  /** Whether every entry at or after `ts` is here. */
  covers(ts: string): boolean {
    if (this.from === undefined) return false;
    return this.fromExclusive ? ts > this.from : ts >= this.from;
  }

  /** Records that a complete read from `ts` to now was remembered. */
  completeFrom(ts: string): void {
    if (this.from === undefined || ts < this.from || (ts === this.from && this.fromExclusive)) {
      this.from = ts;
      this.fromExclusive = false;
    }
  }

  remember(d: DecodedEntry): void {
    if (this.ids.has(d.pos.insertId)) return;
    this.ids.add(d.pos.insertId);
    this.entries.push(d);
    const floor = timestampFromMs(this.now() - REPLAY_WINDOW_MS);
    while (this.entries.length > 0) {
      const oldest = this.entries[0] as DecodedEntry;
      if (this.entries.length <= REPLAY_MAX_ENTRIES && oldest.pos.timestamp >= floor) break;
      this.entries.shift();
      this.ids.delete(oldest.pos.insertId);
      if (this.from === undefined || oldest.pos.timestamp >= this.from) {
        this.from = oldest.pos.timestamp;
        this.fromExclusive = true;
      }
    }
  }

  /** The entries at or after `ts`, in (timestamp, insertId) order. */
  since(ts: string): DecodedEntry[] {
    return this.entries.filter((d) => d.pos.timestamp >= ts).sort((a, b) => compareCursors(a.pos, b.pos));
  }
}

export class AuditFeed extends ChangeFeed<FeedItem, SubscriberState> {
  readonly filter: string;
  private tail: TailSession | undefined;
  private readonly replay: Replay;
  /** Poked whenever `live` may have changed. */
  private readonly liveness = new Subject<void>();
  /** ListLogEntries catch-ups made, and catch-ups answered from the live session's entries. */
  readonly catchUps = { listed: 0, replayed: 0 };

  constructor(
    readonly project: string,
    private readonly logging: LoggingServiceV2Client,
    private readonly deps: FeedDeps,
    private readonly options: AuditFeedOptions,
  ) {
    super(deps, {
      name: `cloudaudit/${project}`,
      resumable: true,
      gapItem: (reason) => ({ kind: 'gap', reason }),
      backoff: TAIL_RECONNECT_BACKOFF,
    });
    const logs = ['activity', 'system_event'].map(
      (l) => `logName="projects/${project}/logs/cloudaudit.googleapis.com%2F${l}"`,
    );
    this.filter = `(${logs.join(' OR ')}) AND protoPayload.serviceName="${RUN_SERVICE_NAME}"`;
    this.replay = new Replay(() => this.now);
  }

  /** A cursor at `ms` (entries at or after it are delivered). */
  cursorAt(ms: number): string {
    return serializeCursor({ timestamp: timestampFromMs(ms), insertId: '' });
  }

  /** Whether a confirmed tail session is open now. */
  get live(): boolean {
    return this.tail !== undefined && this.tail.confirmed && this.tail.end === undefined;
  }

  /** Emits `live` each time it changes. */
  get liveChanges$(): Observable<boolean> {
    return changesOf(this.liveness, () => this.live);
  }

  /** Audit items from `fromCursor` (undefined: now); `accepts` picks the entries wanted. */
  items(fromCursor: string | undefined, accepts?: (entry: AuditMapping) => boolean): Observable<FeedItem> {
    return this.subscribe(
      fromCursor,
      (item) => item.kind !== 'entry' || accepts === undefined || accepts(item.mapping),
    );
  }

  protected join(fromCursor: string | undefined): SubscriberState {
    const parsed = fromCursor === undefined ? undefined : parseCursor(fromCursor);
    if (fromCursor !== undefined && parsed === undefined)
      throw new PageTokenError('audit cursor', 'not a v1 log cursor');
    const cursor = parsed ?? { timestamp: timestampFromMs(this.now), insertId: '' };
    return { cursor, trackingFrom: cursor.timestamp, seen: new Map(), held: [] };
  }

  protected override joined(): void {
    // A tail is live: hold its entries for the newcomer and run its catch-up now.
    this.tail?.interrupt();
  }

  protected override cancelled(): void {
    this.tail?.cancel();
  }

  protected async session(timers: Timers): Promise<void> {
    for (const s of this.subscribers()) s.state.held ??= [];
    this.replay.reset();
    let polls = 0;
    let polling = false;
    for (;;) {
      if (polling) {
        await this.catchUp(timers, true);
        if (timers.isCancelled) return;
        await timers.sleep(this.options.logPollIntervalMs);
        polls += 1;
        // Try the tail again now and then: the quota refusal is usually temporary.
        if (polls % TAIL_RETRY_EVERY_POLLS === 0 || timers.isCancelled) return;
        continue;
      }
      const session = await this.openTail(timers);
      if (timers.isCancelled) return session.cancel();
      if (session.end?.code === GrpcStatus.RESOURCE_EXHAUSTED) {
        this.deps.logger.warn(
          { project: this.project },
          'TailLogEntries refused (RESOURCE_EXHAUSTED): polling ListLogEntries',
        );
        polling = true;
        continue;
      }
      this.tail = session;
      this.liveness.next();
      try {
        await this.follow(session, timers);
      } finally {
        this.tail = undefined;
        this.replay.reset();
        session.cancel();
        this.liveness.next();
      }
      if (timers.isCancelled) return;
      const end = session.end ?? { code: GrpcStatus.OK, message: 'ended' };
      countCall(
        this.deps,
        'TailLogEntries.end',
        end.code === GrpcStatus.OK ? 'ok' : outcomeOf({ code: end.code }),
      );
      if (end.code === GrpcStatus.RESOURCE_EXHAUSTED) {
        polling = true;
        continue;
      }
      if (!RECONNECT_CODES.has(end.code)) {
        throw Object.assign(
          new Error(`TailLogEntries failed: ${GrpcStatus[end.code] ?? end.code} ${end.message}`),
          { code: end.code },
        );
      }
      this.deps.logger.info(
        { project: this.project, code: end.code },
        'audit tail ended: reconnecting and catching up',
      );
      return;
    }
  }

  /** Catches subscribers up, then delivers tail responses until the session ends. */
  private async follow(session: TailSession, timers: Timers): Promise<void> {
    for (;;) {
      await this.catchUp(timers, false);
      if (timers.isCancelled) return;
      const r = await session.next();
      if (r === undefined || timers.isCancelled) return;
      if (r !== WOKEN) this.handleResponse(r);
    }
  }

  private async openTail(timers: Timers): Promise<TailSession> {
    await this.deps.budget.acquire(LOGGING_TAIL_BUCKET);
    const stream = this.logging.tailLogEntries() as unknown as TailStream;
    const session = new TailSession(stream, timers, () => this.liveness.next());
    const windowMs = this.options.bufferWindowMs;
    stream.write({
      resourceNames: [`projects/${this.project}`],
      filter: this.filter,
      bufferWindow: { seconds: Math.floor(windowMs / 1000), nanos: (windowMs % 1000) * 1_000_000 },
    });
    const grace = new Timers(this.deps.scheduler);
    await Promise.race([session.opened, grace.sleep(TAIL_OPEN_GRACE_MS)]);
    grace.cancelAll();
    if (session.end && session.end.code !== GrpcStatus.OK) {
      countCall(this.deps, 'TailLogEntries', outcomeOf({ code: session.end.code }));
    } else countCall(this.deps, 'TailLogEntries', 'ok');
    return session;
  }

  private handleResponse(r: TailResponse): void {
    const suppressed = r.suppressionInfo ?? [];
    const entries: DecodedEntry[] = [];
    for (const raw of r.entries ?? []) {
      const d = this.decode(raw);
      if (d) {
        entries.push(d);
        this.replay.remember(d);
      }
    }
    for (const s of this.subscribers()) {
      const held = s.state.held;
      if (held !== undefined) {
        held.push(...entries);
        continue;
      }
      let delivered = false;
      for (const d of entries) delivered = this.deliver(s, d) || delivered;
      if ((r.entries ?? []).length > 0 || delivered) this.caughtUp(s);
    }
    if (suppressed.length > 0) {
      const detail = suppressed
        .map((x) => `${String(x.reason)} x${String(x.suppressedCount ?? '?')}`)
        .join(', ');
      this.broadcast({ kind: 'gap', reason: `tail suppression_info: ${detail}` });
    }
  }

  private caughtUp(s: Subscriber): void {
    s.next({ kind: 'caughtUp', cursor: serializeCursor(s.state.cursor) });
  }

  /** One raw LogEntry decoded and mapped, or undefined (counted as malformed). */
  private decode(raw: Record<string, unknown>): DecodedEntry | undefined {
    let json: JsonObject;
    try {
      json = logEntryToJson(raw);
    } catch (err) {
      this.deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: 'malformed' });
      this.deps.logger.debug({ project: this.project, err }, 'skipped an audit entry that does not decode');
      return undefined;
    }
    const ts = typeof json['timestamp'] === 'string' ? canonicalTimestamp(json['timestamp']) : undefined;
    const insertId = typeof json['insertId'] === 'string' ? json['insertId'] : undefined;
    if (ts === undefined || insertId === undefined) {
      this.deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: 'malformed' });
      return undefined;
    }
    return { json, pos: { timestamp: ts, insertId }, mapping: auditEntryToHints(json), counted: false };
  }

  /** Dedupes and delivers one entry to `s`; true when delivered. */
  private deliver(s: Subscriber, d: DecodedEntry): boolean {
    const st = s.state;
    const { insertId, timestamp } = d.pos;
    if (st.seen.has(insertId)) return false;
    const after = compareCursors(d.pos, st.cursor) > 0;
    if (!after && !(timestamp > st.trackingFrom)) return false;
    st.seen.set(insertId, timestamp);
    if (after) st.cursor = d.pos;
    this.prune(st);
    if (!d.counted) {
      d.counted = true;
      const m = d.mapping;
      this.deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: m.outcome });
      if (m.outcome !== 'mapped')
        this.deps.logger.debug(
          { project: this.project, outcome: m.outcome, reason: m.reason },
          'audit entry skipped',
        );
      const digests = m.revisionDigests;
      if (digests && digests.project === this.project)
        this.options.onRevisionDigests?.(digests, digests.containers);
    }
    s.next({
      kind: 'entry',
      entry: d.json,
      mapping: d.mapping,
      cursor: serializeCursor(st.cursor),
      timestamp: d.pos.timestamp,
    });
    return true;
  }

  private prune(st: SubscriberState): void {
    if (st.seen.size < SEEN_PRUNE_AT) return;
    const floor = this.lateFloor(st);
    if (floor <= st.trackingFrom) return;
    for (const [id, ts] of st.seen) if (ts <= floor) st.seen.delete(id);
    st.trackingFrom = floor;
  }

  private lateFloor(st: SubscriberState): string {
    return timestampFromMs(
      timestampToMs(st.cursor.timestamp) - LATE_ENTRY_WINDOW_MS - this.options.bufferWindowMs,
    );
  }

  /**
   * Catches the waiting subscribers up from the oldest position one of them needs (its cursor minus
   * the late-entry window it still tracks) to now: from the live session's remembered entries when
   * they cover it, else by ListLogEntries, all pages (remembered while a tail is live); then their
   * held live entries, and a bookmark each. `all`: every subscriber waits (polling, no tail).
   */
  private async catchUp(timers: Timers, all: boolean): Promise<void> {
    const waiting = this.subscribers().filter((s) => all || s.state.held !== undefined);
    if (waiting.length === 0) return;
    let from: string | undefined;
    for (const s of waiting) {
      s.state.held ??= [];
      const late = this.lateFloor(s.state);
      const floor = late > s.state.trackingFrom ? late : s.state.trackingFrom;
      if (from === undefined || floor < from) from = floor;
    }
    const start = from ?? '';
    const live = !all && this.tail !== undefined;
    if (live && this.replay.covers(start)) {
      this.catchUps.replayed += 1;
      for (const d of this.replay.since(start)) for (const s of waiting) this.deliver(s, d);
    } else {
      this.catchUps.listed += 1;
      const filter = `${this.filter} AND timestamp>="${start}"`;
      let pageToken = '';
      do {
        if (timers.isCancelled) return;
        const [entries, , response] = await runCall(this.deps, 'ListLogEntries', () =>
          this.logging.listLogEntries(
            {
              resourceNames: [`projects/${this.project}`],
              filter,
              orderBy: 'timestamp asc',
              pageSize: LOG_PAGE_SIZE,
              pageToken,
            },
            { autoPaginate: false },
          ),
        );
        for (const raw of entries) {
          const d = this.decode(raw as unknown as Record<string, unknown>);
          if (!d) continue;
          if (live) this.replay.remember(d);
          for (const s of waiting) this.deliver(s, d);
        }
        pageToken = response?.nextPageToken ?? '';
      } while (pageToken !== '');
      if (live && this.tail !== undefined) this.replay.completeFrom(start);
    }
    for (const s of waiting) {
      const held = s.state.held ?? [];
      s.state.held = undefined;
      for (const d of held) this.deliver(s, d);
      this.caughtUp(s);
    }
  }
}
