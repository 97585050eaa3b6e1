/**
 * CloudTrail LookupEvents as a change feed, one per (account, region), shared by every source of
 * the region (one set of LookupEvents calls, whatever the number of sources). What an event means
 * is the provider's: `map` turns one CloudTrail record into references to watched objects.
 *
 * Promise: each window reads [cursor - overlapMs, now] newest first, page by page; the cursor moves
 * to `now` only after the whole window was read (a failure re-reads it). Late events (delivery delay
 * below overlapMs) are therefore seen; duplicates are dropped by EventId (a bounded set per
 * subscriber that outlives the overlap). At most `maxRequestsPerSecond` (never above 2) requests, and
 * each waits for the `cloudtrail:lookup-events` budget. After each complete window every subscriber
 * gets a bookmark whose cursor is the window end plus the ids it saw inside the overlap. A cursor
 * older than CloudTrail's 90 days of history yields a `gap` item (then the stream completes); an
 * unreadable cursor yields a `gap` item and a start from now.
 *
 * Failure: throttling backs off (the runtime backoff) and re-reads the window; any other error
 * errors the subscribers' streams (the engine resubscribes from its last bookmark). Malformed
 * records are counted (`auditEntries{outcome:'malformed'}`) and skipped.
 */
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { CloudTrailClient, LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import type { Observable } from 'rxjs';
import type { ApiCallDeps, ApiCallPolicy } from '../../src/provider/api-call.js';
import { ChangeFeed, CursorExpiredError } from '../../src/provider/change-feed.js';
import type { ChangeFeedDeps, FeedSubscriber } from '../../src/provider/change-feed.js';
import { PageTokenCodec } from '../../src/provider/page-token.js';
import type { CoreMetrics } from '../../src/runtime/metrics.js';
import type { Timers } from '../../src/runtime/timers.js';
import { callAws } from './call.js';
import { checkPageCount, nextPageToken } from './paging.js';

const CLOUDTRAIL_RETENTION_MS = 90 * 24 * 3600 * 1000;
const CLOUDTRAIL_MAX_TPS = 2;
const LOOKUP_PAGE_SIZE = 50;
/** Dedupe memory per subscriber (ids of events that mapped to something). */
const SEEN_IDS_MAX = 20_000;

export interface AuditCursor {
  /** Window end: everything with delivery up to here (minus the overlap) was read. */
  t: number;
  /** Ids of mapped events with eventTime >= t - overlap (dedupe across a restart). */
  ids: string[];
}

export const auditCursors = new PageTokenCodec<AuditCursor>('cloudtrail-cursor', (v) => {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as { t?: unknown; ids?: unknown };
  if (typeof o.t !== 'number' || !Number.isFinite(o.t)) return undefined;
  const ids = Array.isArray(o.ids) ? o.ids.filter((x): x is string => typeof x === 'string') : [];
  return { t: o.t, ids };
});

export type AuditItem<R> =
  { type: 'refs'; refs: R[] } | { type: 'bookmark'; cursor: string } | { type: 'gap'; reason: string };

export interface CloudTrailSettings {
  /** `ReadOnly` (=false) or `EventSource` (= `eventSource`). */
  lookupAttribute: 'EventSource' | 'ReadOnly';
  pollIntervalMs: number;
  overlapMs: number;
  maxRequestsPerSecond: number;
}

/** What the provider makes of one CloudTrail record. */
export interface MappedRecord<R> {
  /** Counted in `auditEntries{outcome}`; `mapped` with refs is delivered. */
  outcome: string;
  refs: R[];
  eventTimeMs?: number;
}

export interface CloudTrailFeedOptions<R> {
  /** The account and region of the trail (names the feed in logs). */
  account: string;
  region: string;
  /** The `provider` label of the audit metrics. */
  provider: string;
  /** The service's event source, e.g. `ecs.amazonaws.com` (for `lookupAttribute: EventSource`). */
  eventSource: string;
  settings: CloudTrailSettings;
  policy: ApiCallPolicy;
  map(raw: string): MappedRecord<R>;
}

export type CloudTrailFeedDeps = ApiCallDeps &
  ChangeFeedDeps & { metrics: Pick<CoreMetrics, 'auditEntries'> };

interface SubscriberState {
  cursorMs: number;
  seen: Map<string, number>;
}

interface EventRefs<R> {
  id: string;
  timeMs: number;
  refs: R[];
}

interface WindowBatch<R> {
  startMs: number;
  endMs: number;
  events: EventRefs<R>[];
}

export class CloudTrailFeed<R> extends ChangeFeed<AuditItem<R>, SubscriberState> {
  private cursorMs: number | undefined;
  private rewindToMs: number | undefined;
  private lastRequestMs = -Infinity;
  private readonly counted = new Map<string, number>();
  /** LookupEvents requests made (for measurements). */
  requests = 0;

  constructor(
    private readonly deps: CloudTrailFeedDeps,
    private readonly client: CloudTrailClient,
    private readonly options: CloudTrailFeedOptions<R>,
  ) {
    super(deps, {
      name: `cloudtrail/${options.account}/${options.region}`,
      resumable: true,
      gapItem: (reason) => ({ type: 'gap', reason }),
    });
  }

  /** A cursor meaning "from now" (taken before a list starts). */
  cursorNow(): string {
    return auditCursors.encode({ t: this.now, ids: [] });
  }

  /** Audit items for one consumer, from `fromCursor` (undefined: now). */
  items(fromCursor: string | undefined): Observable<AuditItem<R>> {
    return this.subscribe(fromCursor);
  }

  protected join(fromCursor: string | undefined): SubscriberState {
    const cursor = fromCursor === undefined ? { t: this.now, ids: [] } : auditCursors.decode(fromCursor);
    if (this.now - cursor.t > CLOUDTRAIL_RETENTION_MS - this.options.settings.overlapMs) {
      throw new CursorExpiredError('cursor is older than CloudTrail event history (90 days)');
    }
    return { cursorMs: cursor.t, seen: new Map(cursor.ids.map((id) => [id, cursor.t])) };
  }

  protected override joined(s: FeedSubscriber<AuditItem<R>, SubscriberState>): void {
    const t = s.state.cursorMs;
    if (this.cursorMs === undefined) this.cursorMs = t;
    else if (t < this.cursorMs) this.rewindToMs = Math.min(this.rewindToMs ?? t, t);
  }

  protected override stopped(): void {
    this.cursorMs = undefined;
    this.rewindToMs = undefined;
  }

  protected async session(timers: Timers): Promise<void> {
    const { overlapMs, pollIntervalMs } = this.options.settings;
    while (this.subscriberCount > 0 && !timers.isCancelled) {
      const from = Math.min(this.cursorMs ?? this.now, this.rewindToMs ?? Infinity);
      this.rewindToMs = undefined;
      const startMs = from - overlapMs;
      const endMs = this.now;
      let events: EventRefs<R>[] | undefined;
      try {
        events = await this.readWindow(startMs, endMs, timers);
      } catch (err) {
        // The window is read again by the next session.
        this.rewindToMs = Math.min(this.rewindToMs ?? from, from);
        throw err;
      }
      if (events === undefined) return;
      this.cursorMs = Math.max(this.cursorMs ?? endMs, endMs);
      const batch: WindowBatch<R> = { startMs, endMs, events };
      for (const s of this.subscribers()) this.deliver(s, batch);
      if (this.subscriberCount === 0) break;
      if (this.rewindToMs === undefined) await timers.sleep(pollIntervalMs);
    }
  }

  private deliver(s: FeedSubscriber<AuditItem<R>, SubscriberState>, batch: WindowBatch<R>): void {
    const { overlapMs } = this.options.settings;
    const st = s.state;
    const refs: R[] = [];
    for (const e of batch.events) {
      if (st.seen.has(e.id)) continue;
      st.seen.set(e.id, e.timeMs);
      for (const r of e.refs) refs.push(r);
    }
    if (refs.length > 0) s.next({ type: 'refs', refs });
    const covered = batch.startMs <= st.cursorMs - overlapMs;
    if (!covered) {
      // Joined after this window began: read its range again before bookmarking.
      this.rewindToMs = Math.min(this.rewindToMs ?? st.cursorMs, st.cursorMs);
      return;
    }
    st.cursorMs = batch.endMs;
    const keepFrom = st.cursorMs - 2 * overlapMs;
    for (const [id, t] of st.seen) if (t < keepFrom) st.seen.delete(id);
    while (st.seen.size > SEEN_IDS_MAX) {
      const first = st.seen.keys().next();
      if (first.done === true) break;
      st.seen.delete(first.value);
    }
    const inOverlap = [...st.seen].filter(([, t]) => t >= st.cursorMs - overlapMs).map(([id]) => id);
    s.next({ type: 'bookmark', cursor: auditCursors.encode({ t: st.cursorMs, ids: inOverlap }) });
  }

  /** Reads every page of one window; the events that map to watched objects, or undefined when stopped. */
  private async readWindow(
    startMs: number,
    endMs: number,
    timers: Timers,
  ): Promise<EventRefs<R>[] | undefined> {
    const { settings } = this.options;
    const out: EventRefs<R>[] = [];
    const attributeKey: LookupAttributeKey =
      settings.lookupAttribute === 'ReadOnly' ? 'ReadOnly' : 'EventSource';
    const attributeValue = attributeKey === 'ReadOnly' ? 'false' : this.options.eventSource;
    let nextToken: string | undefined;
    let pages = 0;
    do {
      checkPageCount('LookupEvents', ++pages);
      if (!(await this.pace(timers))) return undefined;
      this.requests++;
      const token = nextToken;
      const page = await callAws(this.deps, this.options.policy, 'LookupEvents', () =>
        this.client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: attributeKey, AttributeValue: attributeValue }],
            StartTime: new Date(startMs),
            EndTime: new Date(endMs),
            MaxResults: LOOKUP_PAGE_SIZE,
            ...(token !== undefined ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const e of page.Events ?? []) {
        const id = e.EventId;
        const raw = e.CloudTrailEvent;
        const first = id === undefined || !this.counted.has(id);
        if (id === undefined || raw === undefined) {
          this.count('malformed');
          continue;
        }
        const mapped = this.options.map(raw);
        if (first) {
          this.counted.set(id, e.EventTime?.getTime() ?? endMs);
          this.count(mapped.outcome);
        } else {
          this.count('duplicate');
        }
        if (mapped.outcome === 'mapped' && mapped.refs.length > 0) {
          // Dedupe memory is kept by the time LookupEvents windows by (EventTime): an id is
          // forgotten only once no window can return the event again. The record's own eventTime
          // can differ (a replayed or re-delivered record).
          out.push({ id, timeMs: e.EventTime?.getTime() ?? mapped.eventTimeMs ?? endMs, refs: mapped.refs });
        }
      }
      nextToken = nextPageToken('LookupEvents', token, page.NextToken);
    } while (nextToken !== undefined);
    const keepFrom = startMs - settings.overlapMs;
    for (const [id, t] of this.counted) if (t < keepFrom) this.counted.delete(id);
    return out;
  }

  private count(outcome: string): void {
    this.deps.metrics.auditEntries.inc({ provider: this.options.provider, outcome });
  }

  /** Spaces requests by 1 / maxRequestsPerSecond (capped at CloudTrail's 2 per second); false when stopped. */
  private async pace(timers: Timers): Promise<boolean> {
    const rps = Math.min(CLOUDTRAIL_MAX_TPS, this.options.settings.maxRequestsPerSecond);
    const spacingMs = 1000 / rps;
    const wait = this.lastRequestMs + spacingMs - this.now;
    if (wait > 0 && (await timers.sleep(wait)) === 'cancelled') return false;
    if (timers.isCancelled) return false;
    this.lastRequestMs = this.now;
    return true;
  }
}
