/**
 * The CloudTrail event history of an AWS emulator (one account, all regions; every AWS emulator
 * keeps one, ECS's and Lambda's alike): events are recorded with an
 * event time and a delivery time (event time + delivery delay) and LookupEvents sees an event only
 * once delivered. Lookup follows AWS semantics: exactly one lookup attribute, StartTime/EndTime
 * inclusive, newest first, MaxResults 1-50, a NextToken valid only with identical parameters.
 *
 * Events are kept sorted by (eventTime, sequence) so a window is found by binary search.
 */
import { randomUUID } from 'node:crypto';

export interface StoredEvent {
  seq: number;
  eventId: string;
  eventTimeMs: number;
  deliveredAtMs: number;
  region: string;
  eventName: string;
  eventSource: string;
  readOnly: boolean;
  username: string;
  accessKeyId?: string;
  resources: Array<{ ResourceType?: string; ResourceName?: string }>;
  /** The CloudTrailEvent JSON string, exactly as LookupEvents returns it. */
  cloudTrailEvent: string;
}

export interface RecordInput {
  region: string;
  eventName: string;
  eventSource?: string;
  readOnly: boolean;
  requestParameters?: unknown;
  responseElements?: unknown;
  errorCode?: string;
  errorMessage?: string;
  resources?: Array<{ ResourceType?: string; ResourceName?: string }>;
  username?: string;
  accessKeyId?: string;
  /** Defaults to the clock. */
  eventTimeMs?: number;
  /** Overrides the log's delivery delay for this event. */
  deliveryDelayMs?: number;
}

export interface LookupQuery {
  attributeKey?: string;
  attributeValue?: string;
  startMs?: number;
  endMs?: number;
  maxResults: number;
  /** Position after which to continue (exclusive), newest first. */
  after?: { t: number; s: number };
}

export class CloudTrailLog {
  private readonly events: StoredEvent[] = [];
  private seq = 0;
  /** Default delay between an event and its visibility in LookupEvents. */
  deliveryDelayMs: number;

  constructor(
    readonly account: string,
    private readonly now: () => number,
    /** The event source of a record that names none (the emulated service's, `ecs.amazonaws.com`). */
    readonly defaultEventSource: string,
    deliveryDelayMs = 0,
  ) {
    this.deliveryDelayMs = deliveryDelayMs;
  }

  get size(): number {
    return this.events.length;
  }

  /** Records an API call the way CloudTrail does (the JSON document built here). */
  record(input: RecordInput): StoredEvent {
    const eventTimeMs = input.eventTimeMs ?? this.now();
    const eventId = randomUUID();
    const source = input.eventSource ?? this.defaultEventSource;
    const doc: Record<string, unknown> = {
      eventVersion: '1.08',
      userIdentity: {
        type: 'AssumedRole',
        accountId: this.account,
        accessKeyId: input.accessKeyId ?? 'ASIAEMULATOR',
        arn: `arn:aws:sts::${this.account}:assumed-role/${input.username ?? 'emulator'}/session`,
      },
      eventTime: new Date(Math.floor(eventTimeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      eventSource: source,
      eventName: input.eventName,
      awsRegion: input.region,
      sourceIPAddress: '127.0.0.1',
      userAgent: 'sightline-emulator',
      requestParameters: input.requestParameters ?? null,
      responseElements: input.errorCode !== undefined ? null : (input.responseElements ?? null),
      requestID: randomUUID(),
      eventID: eventId,
      readOnly: input.readOnly,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: this.account,
      eventCategory: 'Management',
    };
    if (input.errorCode !== undefined) {
      doc['errorCode'] = input.errorCode;
      doc['errorMessage'] = input.errorMessage ?? input.errorCode;
    }
    return this.insert({
      eventId,
      eventTimeMs,
      region: input.region,
      eventName: input.eventName,
      eventSource: source,
      readOnly: input.readOnly,
      username: input.username ?? 'emulator',
      ...(input.accessKeyId !== undefined ? { accessKeyId: input.accessKeyId } : {}),
      resources: input.resources ?? [],
      cloudTrailEvent: JSON.stringify(doc),
      deliveredAtMs: eventTimeMs + (input.deliveryDelayMs ?? this.deliveryDelayMs),
    });
  }

  /**
   * Records a raw CloudTrail record (e.g. a real sample) or an arbitrary string (malformed input).
   * Lookup fields are read from the record when it parses; otherwise from `fallback`.
   */
  recordRaw(
    raw: string,
    fallback: {
      region: string;
      eventName?: string;
      eventSource?: string;
      readOnly?: boolean;
      eventTimeMs?: number;
    },
    deliveryDelayMs?: number,
  ): StoredEvent {
    let parsed: Record<string, unknown> = {};
    try {
      const v: unknown = JSON.parse(raw);
      if (v !== null && typeof v === 'object') parsed = v as Record<string, unknown>;
    } catch {
      parsed = {};
    }
    const str = (k: string): string | undefined =>
      typeof parsed[k] === 'string' ? (parsed[k] as string) : undefined;
    const eventTimeMs = fallback.eventTimeMs ?? this.now();
    return this.insert({
      eventId: str('eventID') ?? randomUUID(),
      eventTimeMs,
      region: fallback.region,
      eventName: str('eventName') ?? fallback.eventName ?? 'Unknown',
      eventSource: str('eventSource') ?? fallback.eventSource ?? this.defaultEventSource,
      readOnly:
        typeof parsed['readOnly'] === 'boolean'
          ? (parsed['readOnly'] as boolean)
          : (fallback.readOnly ?? false),
      username: 'emulator',
      resources: [],
      cloudTrailEvent: raw,
      deliveredAtMs: eventTimeMs + (deliveryDelayMs ?? this.deliveryDelayMs),
    });
  }

  private insert(partial: Omit<StoredEvent, 'seq'>): StoredEvent {
    const e: StoredEvent = { ...partial, seq: ++this.seq };
    // Keep sorted by (eventTimeMs, seq): appends are the common case.
    let i = this.events.length;
    while (i > 0) {
      const prev = this.events[i - 1];
      if (!prev || prev.eventTimeMs <= e.eventTimeMs) break;
      i--;
    }
    if (i === this.events.length) this.events.push(e);
    else this.events.splice(i, 0, e);
    return e;
  }

  /** Delivered events of `region` matching the query, newest first, at most maxResults + whether more exist. */
  lookup(region: string, q: LookupQuery): { events: StoredEvent[]; more: boolean } {
    const now = this.now();
    const endMs = q.endMs ?? now;
    const startMs = q.startMs ?? now - 90 * 24 * 3600 * 1000;
    let hi = this.upperBound(endMs); // first index with eventTime > endMs
    if (q.after) hi = Math.min(hi, this.positionOf(q.after.t, q.after.s)); // strictly older than the token
    const out: StoredEvent[] = [];
    while (hi > 0) {
      hi--;
      const e = this.events[hi];
      if (!e) continue;
      if (e.eventTimeMs < startMs) break;
      if (e.region !== region || e.deliveredAtMs > now) continue;
      if (!matches(e, q.attributeKey, q.attributeValue)) continue;
      if (out.length === q.maxResults) return { events: out, more: true };
      out.push(e);
    }
    return { events: out, more: false };
  }

  /** Index of the first event at or after (t, seq). */
  private positionOf(t: number, seq: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.events[mid];
      if (e && (e.eventTimeMs < t || (e.eventTimeMs === t && e.seq < seq))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private upperBound(t: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.events[mid];
      if (e && e.eventTimeMs <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Counts delivered events matching an attribute in [startMs, endMs] (for measurements). */
  count(
    region: string,
    attributeKey: string,
    attributeValue: string,
    startMs: number,
    endMs: number,
  ): number {
    return this.lookup(region, {
      attributeKey,
      attributeValue,
      startMs,
      endMs,
      maxResults: Number.MAX_SAFE_INTEGER,
    }).events.length;
  }
}

function matches(e: StoredEvent, key: string | undefined, value: string | undefined): boolean {
  if (key === undefined || value === undefined) return true;
  switch (key) {
    case 'EventSource':
      return e.eventSource === value;
    case 'EventName':
      return e.eventName === value;
    case 'ReadOnly':
      return String(e.readOnly) === value;
    case 'EventId':
      return e.eventId === value;
    case 'Username':
      return e.username === value;
    case 'AccessKeyId':
      return e.accessKeyId === value;
    case 'ResourceName':
      return e.resources.some((r) => r.ResourceName === value);
    case 'ResourceType':
      return e.resources.some((r) => r.ResourceType === value);
    default:
      return false;
  }
}
