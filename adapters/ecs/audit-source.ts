/**
 * CloudTrail LookupEvents -> change hints, one poller per (account, region) shared by every source
 * of the region (one set of LookupEvents calls, whatever the number of sources).
 *
 * Promise: each window reads [cursor - overlapMs, now] newest first, page by page; the cursor moves
 * to `now` only after the whole window was read (a failure re-reads it). Late events (delivery delay
 * below overlapMs) are therefore seen; duplicates are dropped by EventId (a bounded set per
 * subscriber that outlives the overlap). At most `maxRequestsPerSecond` (never above 2) requests, and
 * each waits for the `cloudtrail:lookup-events` budget. After each complete window every subscriber
 * gets a bookmark whose cursor is the window end plus the ids it saw inside the overlap. A cursor
 * older than CloudTrail's 90 days of history yields a `gap` hint (then the stream completes).
 *
 * Failure: throttling backs off and re-reads the window; any other error errors the subscribers'
 * streams (the engine resubscribes from its last bookmark). Malformed records are counted
 * (`auditEntries{outcome:'malformed'}`) and skipped.
 */
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import { Observable } from 'rxjs';
import type { Subscription } from 'rxjs';
import type { EcsConfig } from '../../src/config/schema.js';
import { isThrottling } from '../../src/watch/source.js';
import { mapCloudTrailEvent } from './audit-mapping.js';
import type { AuditRef } from './audit-mapping.js';
import { callAws } from './call.js';
import { checkPageCount, nextPageToken } from './paging.js';
import type { RegionContext } from './region.js';

export const CLOUDTRAIL_RETENTION_MS = 90 * 24 * 3600 * 1000;
const CLOUDTRAIL_MAX_TPS = 2;
const LOOKUP_PAGE_SIZE = 50;
/** Dedupe memory per subscriber (ids of events that mapped to something). */
const SEEN_IDS_MAX = 20_000;
const THROTTLE_BACKOFF_INITIAL_MS = 1_000;
const THROTTLE_BACKOFF_MAX_MS = 30_000;

export interface AuditCursor {
  /** Window end: everything with delivery up to here (minus the overlap) was read. */
  t: number;
  /** Ids of mapped events with eventTime >= t - overlap (dedupe across a restart). */
  ids: string[];
}

export function encodeCursor(c: AuditCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(s: string | undefined): AuditCursor | undefined {
  if (s === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { t?: unknown; ids?: unknown };
    if (typeof v.t !== 'number' || !Number.isFinite(v.t)) return undefined;
    const ids = Array.isArray(v.ids) ? v.ids.filter((x): x is string => typeof x === 'string') : [];
    return { t: v.t, ids };
  } catch {
    return undefined;
  }
}

export interface AuditEventRefs {
  id: string;
  timeMs: number;
  refs: AuditRef[];
}

interface WindowBatch {
  startMs: number;
  endMs: number;
  events: AuditEventRefs[];
}

export type AuditItem =
  { type: 'refs'; refs: AuditRef[] } | { type: 'bookmark'; cursor: string } | { type: 'gap'; reason: string };

interface Subscriber {
  cursorMs: number;
  seen: Map<string, number>;
  onItem: (item: AuditItem) => void;
  onError: (err: unknown) => void;
  onComplete: () => void;
}

export type CloudTrailSettings = EcsConfig['cloudTrail'];

export class AuditFeed {
  private readonly subscribers = new Set<Subscriber>();
  private running = false;
  private cursorMs: number | undefined;
  private rewindToMs: number | undefined;
  private lastRequestMs = -Infinity;
  private readonly counted = new Map<string, number>();
  /** LookupEvents requests made (for measurements). */
  requests = 0;
  private timer: { sub: Subscription; resolve: () => void } | undefined;
  private closed = false;

  constructor(
    private readonly rc: RegionContext,
    private readonly settings: CloudTrailSettings,
  ) {}

  private get now(): number {
    return this.rc.deps.scheduler.now();
  }

  /** Completes every subscriber's stream and stops polling (adapter close). */
  close(): void {
    this.closed = true;
    for (const s of [...this.subscribers]) {
      this.subscribers.delete(s);
      s.onComplete();
    }
    this.cancelSleep();
  }

  /** A cursor meaning "from now" (taken before a list starts). */
  cursorNow(): string {
    return encodeCursor({ t: this.now, ids: [] });
  }

  /** Audit items for one consumer, from `fromCursor` (undefined: now). */
  items(fromCursor: string | undefined): Observable<AuditItem> {
    return new Observable<AuditItem>((sub) => {
      if (this.closed) {
        sub.complete();
        return undefined;
      }
      const cursor = decodeCursor(fromCursor) ?? { t: this.now, ids: [] };
      if (this.now - cursor.t > CLOUDTRAIL_RETENTION_MS - this.settings.overlapMs) {
        sub.next({ type: 'gap', reason: 'cursor is older than CloudTrail event history (90 days)' });
        sub.complete();
        return undefined;
      }
      const s: Subscriber = {
        cursorMs: cursor.t,
        seen: new Map(cursor.ids.map((id) => [id, cursor.t])),
        onItem: (item) => sub.next(item),
        onError: (err) => sub.error(err),
        onComplete: () => sub.complete(),
      };
      this.subscribers.add(s);
      this.requestFrom(cursor.t);
      this.ensureRunning();
      return () => {
        this.subscribers.delete(s);
        if (this.subscribers.size === 0) this.cancelSleep();
      };
    });
  }

  private requestFrom(t: number): void {
    if (this.cursorMs === undefined) this.cursorMs = t;
    else if (t < this.cursorMs) this.rewindToMs = Math.min(this.rewindToMs ?? t, t);
  }

  private ensureRunning(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.subscribers.size > 0) this.ensureRunning();
    });
  }

  private async loop(): Promise<void> {
    let backoffMs = THROTTLE_BACKOFF_INITIAL_MS;
    while (this.subscribers.size > 0) {
      const from = Math.min(this.cursorMs ?? this.now, this.rewindToMs ?? Infinity);
      this.rewindToMs = undefined;
      const startMs = from - this.settings.overlapMs;
      const endMs = this.now;
      let batch: WindowBatch;
      try {
        batch = { startMs, endMs, events: await this.readWindow(startMs, endMs) };
        backoffMs = THROTTLE_BACKOFF_INITIAL_MS;
      } catch (err) {
        if (isThrottling(err)) {
          this.rewindToMs = Math.min(this.rewindToMs ?? from, from);
          await this.sleep(backoffMs);
          backoffMs = Math.min(THROTTLE_BACKOFF_MAX_MS, backoffMs * 2);
          continue;
        }
        this.rc.deps.logger.warn({ err, region: this.rc.region }, 'CloudTrail LookupEvents failed');
        for (const s of [...this.subscribers]) {
          this.subscribers.delete(s);
          s.onError(err);
        }
        this.cursorMs = undefined;
        return;
      }
      this.cursorMs = Math.max(this.cursorMs ?? endMs, endMs);
      for (const s of [...this.subscribers]) this.deliver(s, batch);
      if (this.subscribers.size === 0) break;
      if (this.rewindToMs === undefined) await this.sleep(this.settings.pollIntervalMs);
    }
  }

  private deliver(s: Subscriber, batch: WindowBatch): void {
    const refs: AuditRef[] = [];
    for (const e of batch.events) {
      if (s.seen.has(e.id)) continue;
      s.seen.set(e.id, e.timeMs);
      for (const r of e.refs) refs.push(r);
    }
    if (refs.length > 0) s.onItem({ type: 'refs', refs });
    const covered = batch.startMs <= s.cursorMs - this.settings.overlapMs;
    if (!covered) {
      // Joined after this window began: read its range again before bookmarking.
      this.rewindToMs = Math.min(this.rewindToMs ?? s.cursorMs, s.cursorMs);
      return;
    }
    s.cursorMs = batch.endMs;
    const keepFrom = s.cursorMs - 2 * this.settings.overlapMs;
    for (const [id, t] of s.seen) if (t < keepFrom) s.seen.delete(id);
    while (s.seen.size > SEEN_IDS_MAX) {
      const first = s.seen.keys().next();
      if (first.done === true) break;
      s.seen.delete(first.value);
    }
    const inOverlap = [...s.seen]
      .filter(([, t]) => t >= s.cursorMs - this.settings.overlapMs)
      .map(([id]) => id);
    s.onItem({ type: 'bookmark', cursor: encodeCursor({ t: s.cursorMs, ids: inOverlap }) });
  }

  /** Reads every page of one window; returns the events that map to watched objects. */
  private async readWindow(startMs: number, endMs: number): Promise<AuditEventRefs[]> {
    const out: AuditEventRefs[] = [];
    const attributeKey: LookupAttributeKey =
      this.settings.lookupAttribute === 'ReadOnly' ? 'ReadOnly' : 'EventSource';
    const attributeValue = attributeKey === 'ReadOnly' ? 'false' : 'ecs.amazonaws.com';
    let nextToken: string | undefined;
    let pages = 0;
    do {
      checkPageCount('LookupEvents', ++pages);
      await this.pace();
      this.requests++;
      const token = nextToken;
      const page = await callAws(this.rc.deps, 'LookupEvents', () =>
        this.rc.clients.cloudTrail.send(
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
        const mapped = mapCloudTrailEvent(raw, this.rc.region, this.rc.account);
        if (first) {
          this.counted.set(id, e.EventTime?.getTime() ?? endMs);
          this.count(mapped.outcome);
        } else {
          this.count('duplicate');
        }
        if (mapped.outcome === 'mapped' && mapped.refs.length > 0) {
          // Dedupe memory is kept by the time LookupEvents windows by (EventTime): an id is
          // forgotten only once no window can return the event again. The record's own eventTime
          // can differ (a replayed or re-delivered record), and pruning by it re-emitted hints.
          out.push({ id, timeMs: e.EventTime?.getTime() ?? mapped.eventTimeMs ?? endMs, refs: mapped.refs });
        }
      }
      nextToken = nextPageToken('LookupEvents', token, page.NextToken);
    } while (nextToken !== undefined);
    const keepFrom = startMs - this.settings.overlapMs;
    for (const [id, t] of this.counted) if (t < keepFrom) this.counted.delete(id);
    return out;
  }

  private count(outcome: string): void {
    this.rc.deps.metrics.auditEntries.inc({ provider: 'ECS', outcome });
  }

  /** A wait on the injected scheduler that ends early when the last subscriber leaves. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sub = this.rc.deps.scheduler.schedule(() => {
        this.timer = undefined;
        resolve();
      }, ms);
      this.timer = { sub, resolve };
    });
  }

  private cancelSleep(): void {
    const t = this.timer;
    this.timer = undefined;
    t?.sub.unsubscribe();
    t?.resolve();
  }

  /** Spaces requests by 1 / maxRequestsPerSecond (capped at CloudTrail's 2 per second). */
  private async pace(): Promise<void> {
    const rps = Math.min(CLOUDTRAIL_MAX_TPS, this.settings.maxRequestsPerSecond);
    const spacingMs = 1000 / rps;
    const wait = this.lastRequestMs + spacingMs - this.now;
    if (wait > 0) await this.sleep(wait);
    this.lastRequestMs = this.now;
  }
}
