/**
 * The audit feed of one project: Cloud Run Admin Activity and System Event entries, read by
 * TailLogEntries (bidi) with ListLogEntries catch-up, as an Observable of FeedItems.
 *
 * Contract of `items(fromCursor)`:
 * - every entry after `fromCursor` ((timestamp, insertId) order) is delivered once: the tail is
 *   opened first (and confirmed, or given a grace period), then ListLogEntries catches up from the
 *   cursor, then live tail entries follow; entries seen on both paths are dropped by insertId;
 * - the stream ending (1 h deadline, OUT_OF_RANGE), a cut or UNAVAILABLE reconnects with the runtime
 *   backoff (`TAIL_RECONNECT_BACKOFF`: 800 ms doubling, 30 s cap, no jitter, back to 800 ms after a
 *   session that lived 2 minutes) and catches up again from the last entry: no gap, no
 *   duplicate. Entries up to `LATE_ENTRY_WINDOW_MS` older than the cursor that were not seen yet are
 *   still delivered on a catch-up (with the cursor of the newest entry, so cursors never go back);
 * - `suppression_info` yields a `gap` item (the engine relists);
 * - RESOURCE_EXHAUSTED on the tail switches to ListLogEntries polling every `logPollIntervalMs`
 *   (the tail is tried again every `TAIL_RETRY_EVERY_POLLS` polls);
 * - `caughtUp` items carry the cursor after each catch-up and each tail batch (bookmarks);
 * - an unreadable cursor yields a `gap` and starts from now;
 * - a failing catch-up ListLogEntries errors the Observable (throttling as ThrottledError): the
 *   engine backs off and resubscribes from its last cursor.
 * Entries that do not decode are counted (`auditEntries{outcome="malformed"}`) and skipped.
 * Every wait (tail-open grace, reconnect backoff, poll interval, the turn given to a stream's error
 * after its end) runs on the injected scheduler; unsubscribing cancels them all.
 */
import { Observable } from 'rxjs';
import type { Subscriber } from 'rxjs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { LoggingServiceV2Client } from '@google-cloud/logging-api';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import type { SchedulerLike } from 'rxjs';
import { Backoff } from '../../src/runtime/backoff.js';
import type { BackoffOptions } from '../../src/runtime/backoff.js';
import { Timers } from '../../src/runtime/timers.js';
import type { JsonObject } from './json.js';
import { LOGGING_BUCKET, PROVIDER, countCall, grpcCode, outcomeOf, runCall } from './call-policy.js';
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
import { RUN_SERVICE_NAME } from './audit-mapper.js';

export type FeedItem =
  | { kind: 'entry'; entry: JsonObject; cursor: string }
  | { kind: 'gap'; reason: string }
  | { kind: 'caughtUp'; cursor: string };

const LOG_PAGE_SIZE = 1000;
const LATE_ENTRY_WINDOW_MS = 60_000;
export const TAIL_OPEN_GRACE_MS = 1_000;
/** Reconnect waits: client-go's constants without jitter; reset after a session that lived 2 min. */
const TAIL_RECONNECT_BACKOFF: Partial<BackoffOptions> = { jitter: 0 };
const TAIL_HEALTHY_AFTER_MS = 120_000;
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

/** One TailLogEntries session: buffers responses until drained. */
class TailSession {
  private readonly buffer: TailResponse[] = [];
  private wake: (() => void) | undefined;
  end: { code: number; message: string } | undefined;
  readonly opened: Promise<void>;
  private markOpened: () => void = () => undefined;
  readonly startedMs: number;

  constructor(
    private readonly stream: TailStream,
    scheduler: SchedulerLike,
    timers: Timers,
  ) {
    this.startedMs = scheduler.now();
    this.opened = new Promise<void>((resolve) => (this.markOpened = resolve));
    stream.on('data', (r) => {
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
    if (!this.end) this.end = { code, message };
    this.markOpened();
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next response, or undefined once the stream ended. */
  async next(): Promise<TailResponse | undefined> {
    for (;;) {
      const r = this.buffer.shift();
      if (r) return r;
      if (this.end) return undefined;
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

export class AuditFeed {
  readonly filter: string;
  private readonly runs = new Set<FeedRun>();
  private closed = false;

  constructor(
    readonly project: string,
    private readonly logging: LoggingServiceV2Client,
    private readonly deps: FeedDeps,
    private readonly options: AuditFeedOptions,
  ) {
    const logs = ['activity', 'system_event'].map(
      (l) => `logName="projects/${project}/logs/cloudaudit.googleapis.com%2F${l}"`,
    );
    this.filter = `(${logs.join(' OR ')}) AND protoPayload.serviceName="${RUN_SERVICE_NAME}"`;
  }

  /** A cursor at `ms` (entries at or after it are delivered). */
  cursorAt(ms: number): string {
    return serializeCursor({ timestamp: timestampFromMs(ms), insertId: '' });
  }

  items(fromCursor: string | undefined): Observable<FeedItem> {
    return new Observable<FeedItem>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      const run = new FeedRun(this, this.logging, this.deps, this.options, subscriber);
      this.runs.add(run);
      run.start(fromCursor);
      return () => {
        this.runs.delete(run);
        run.stop();
      };
    });
  }

  /** Stops every open tail and completes every subscriber. Idempotent. */
  close(): void {
    this.closed = true;
    for (const run of this.runs) run.stop();
    this.runs.clear();
  }
}

class FeedRun {
  private stopped = false;
  private cursor: LogCursor = { timestamp: '', insertId: '' };
  /** Entries after this timestamp (exclusive) that are not in `seen` were never delivered. */
  private trackingFrom = '';
  private readonly seen = new Map<string, string>();
  private session: TailSession | undefined;
  private readonly timers: Timers;
  private readonly backoff: Backoff;

  constructor(
    private readonly feed: AuditFeed,
    private readonly logging: LoggingServiceV2Client,
    private readonly deps: FeedDeps,
    private readonly options: AuditFeedOptions,
    private readonly out: Subscriber<FeedItem>,
  ) {
    this.timers = new Timers(deps.scheduler);
    this.backoff = new Backoff(TAIL_RECONNECT_BACKOFF, deps.scheduler);
  }

  start(fromCursor: string | undefined): void {
    const parsed = fromCursor === undefined ? undefined : parseCursor(fromCursor);
    if (fromCursor !== undefined && parsed === undefined) {
      this.out.next({ kind: 'gap', reason: 'unreadable audit cursor' });
    }
    this.cursor = parsed ?? { timestamp: timestampFromMs(this.deps.scheduler.now()), insertId: '' };
    this.trackingFrom = this.cursor.timestamp;
    this.loop().then(
      () => {
        if (!this.out.closed) this.out.complete();
      },
      (err: unknown) => {
        if (!this.stopped) this.out.error(err);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    this.session?.cancel();
    this.timers.cancelAll();
  }

  private async loop(): Promise<void> {
    let polling = false;
    let polls = 0;
    while (!this.stopped) {
      if (polling) {
        await this.catchUp();
        if (this.stopped) return;
        this.emitCaughtUp();
        await this.timers.sleep(this.options.logPollIntervalMs);
        polls += 1;
        // Try the tail again now and then: the quota refusal is usually temporary.
        if (polls % TAIL_RETRY_EVERY_POLLS === 0) polling = false;
        continue;
      }
      const session = await this.openTail();
      if (this.stopped) return;
      if (session.end && session.end.code === GrpcStatus.RESOURCE_EXHAUSTED) {
        this.deps.logger.warn(
          { project: this.feed.project },
          'TailLogEntries refused (RESOURCE_EXHAUSTED): polling ListLogEntries',
        );
        polling = true;
        continue;
      }
      await this.catchUp();
      if (this.stopped) return;
      this.emitCaughtUp();
      for (;;) {
        const r = await session.next();
        if (r === undefined || this.stopped) break;
        this.handleResponse(r);
      }
      if (this.stopped) return;
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
      if (this.deps.scheduler.now() - session.startedMs > TAIL_HEALTHY_AFTER_MS) this.backoff.reset();
      const waitMs = this.backoff.next();
      this.deps.logger.info(
        { project: this.feed.project, code: end.code, waitMs },
        'audit tail ended: reconnecting and catching up',
      );
      await this.timers.sleep(waitMs);
    }
  }

  private async openTail(): Promise<TailSession> {
    await this.deps.budget.acquire(LOGGING_BUCKET);
    const stream = this.logging.tailLogEntries() as unknown as TailStream;
    const session = new TailSession(stream, this.deps.scheduler, this.timers);
    this.session = session;
    const windowMs = this.options.bufferWindowMs;
    stream.write({
      resourceNames: [`projects/${this.feed.project}`],
      filter: this.feed.filter,
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
    let delivered = false;
    for (const e of r.entries ?? []) delivered = this.handleEntry(e) || delivered;
    if (suppressed.length > 0) {
      const detail = suppressed
        .map((s) => `${String(s.reason)} x${String(s.suppressedCount ?? '?')}`)
        .join(', ');
      this.out.next({ kind: 'gap', reason: `tail suppression_info: ${detail}` });
    }
    if ((r.entries ?? []).length > 0 || delivered) this.emitCaughtUp();
  }

  private emitCaughtUp(): void {
    this.out.next({ kind: 'caughtUp', cursor: serializeCursor(this.cursor) });
  }

  /** Dedupes and delivers one raw LogEntry; true when delivered. */
  private handleEntry(raw: Record<string, unknown>): boolean {
    let json: JsonObject;
    try {
      json = logEntryToJson(raw);
    } catch (err) {
      this.deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: 'malformed' });
      this.deps.logger.debug(
        { project: this.feed.project, err },
        'skipped an audit entry that does not decode',
      );
      return false;
    }
    const ts = typeof json['timestamp'] === 'string' ? canonicalTimestamp(json['timestamp']) : undefined;
    const insertId = typeof json['insertId'] === 'string' ? json['insertId'] : undefined;
    if (ts === undefined || insertId === undefined) {
      this.deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: 'malformed' });
      return false;
    }
    const pos: LogCursor = { timestamp: ts, insertId };
    if (this.seen.has(insertId)) return false;
    const after = compareCursors(pos, this.cursor) > 0;
    if (!after && !(ts > this.trackingFrom)) return false;
    this.seen.set(insertId, ts);
    if (after) this.cursor = pos;
    this.prune();
    this.out.next({ kind: 'entry', entry: json, cursor: serializeCursor(this.cursor) });
    return true;
  }

  private prune(): void {
    if (this.seen.size < 1024) return;
    const floor = timestampFromMs(
      timestampToMs(this.cursor.timestamp) - LATE_ENTRY_WINDOW_MS - this.options.bufferWindowMs,
    );
    if (floor <= this.trackingFrom) return;
    for (const [id, ts] of this.seen) if (ts <= floor) this.seen.delete(id);
    this.trackingFrom = floor;
  }

  /** ListLogEntries from the cursor (minus the late-entry window already tracked) to now, all pages. */
  private async catchUp(): Promise<void> {
    const lateFloor = timestampFromMs(
      timestampToMs(this.cursor.timestamp) - LATE_ENTRY_WINDOW_MS - this.options.bufferWindowMs,
    );
    const from = lateFloor > this.trackingFrom ? lateFloor : this.trackingFrom;
    const filter = `${this.feed.filter} AND timestamp>="${from}"`;
    let pageToken = '';
    do {
      if (this.stopped) return;
      const [entries, , response] = await runCall(this.deps, 'ListLogEntries', () =>
        this.logging.listLogEntries(
          {
            resourceNames: [`projects/${this.feed.project}`],
            filter,
            orderBy: 'timestamp asc',
            pageSize: LOG_PAGE_SIZE,
            pageToken,
          },
          { autoPaginate: false },
        ),
      );
      for (const e of entries) this.handleEntry(e as unknown as Record<string, unknown>);
      pageToken = response?.nextPageToken ?? '';
    } while (pageToken !== '');
  }
}
