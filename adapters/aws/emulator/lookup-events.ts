/**
 * CloudTrail LookupEvents in CloudTrail's wire shapes (PascalCase members, epoch-second times):
 * at most one LookupAttribute, MaxResults 1-50 (default 50), StartTime <= EndTime, newest first, a
 * NextToken bound to the exact parameters it was issued for (InvalidNextTokenException otherwise).
 * Every AWS emulator serves it over its own CloudTrail log. Failure: a bad request throws
 * `AwsApiError` (HTTP 400, CloudTrail's exception name), which the server answers as such.
 */
import { createHash } from 'node:crypto';
import type { CloudTrailLog } from './cloudtrail-log.js';
import { AwsApiError } from './api-error.js';

type Input = Record<string, unknown>;

const ATTRIBUTE_KEYS = new Set([
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
]);

function timeMs(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return Math.round(v * 1000);
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  throw new AwsApiError('InvalidTimeRangeException', `${name} is not a valid time.`);
}

export function lookupEvents(log: CloudTrailLog, region: string, input: Input): Record<string, unknown> {
  const attrs = input['LookupAttributes'];
  let attributeKey: string | undefined;
  let attributeValue: string | undefined;
  if (attrs !== undefined && attrs !== null) {
    if (!Array.isArray(attrs))
      throw new AwsApiError('InvalidLookupAttributesException', 'LookupAttributes must be a list.');
    if (attrs.length > 1)
      throw new AwsApiError('InvalidLookupAttributesException', 'You can specify only one lookup attribute.');
    const a = attrs[0] as { AttributeKey?: unknown; AttributeValue?: unknown } | undefined;
    if (a) {
      if (typeof a.AttributeKey !== 'string' || !ATTRIBUTE_KEYS.has(a.AttributeKey))
        throw new AwsApiError('InvalidLookupAttributesException', 'Unsupported lookup attribute key.');
      if (typeof a.AttributeValue !== 'string' || a.AttributeValue.length === 0)
        throw new AwsApiError('InvalidLookupAttributesException', 'AttributeValue is required.');
      attributeKey = a.AttributeKey;
      attributeValue = a.AttributeValue;
    }
  }
  const startMs = timeMs(input['StartTime'], 'StartTime');
  const endMs = timeMs(input['EndTime'], 'EndTime');
  if (startMs !== undefined && endMs !== undefined && startMs > endMs)
    throw new AwsApiError('InvalidTimeRangeException', 'StartTime must be before EndTime.');
  const mr = input['MaxResults'];
  let maxResults = 50;
  if (mr !== undefined && mr !== null) {
    if (typeof mr !== 'number' || !Number.isInteger(mr) || mr < 1 || mr > 50)
      throw new AwsApiError('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.');
    maxResults = mr;
  }
  const paramsHash = createHash('sha256')
    .update(JSON.stringify([attributeKey, attributeValue, startMs, endMs, maxResults]))
    .digest('hex')
    .slice(0, 16);
  let after: { t: number; s: number } | undefined;
  const token = input['NextToken'];
  if (token !== undefined && token !== null) {
    try {
      const d = JSON.parse(Buffer.from(String(token), 'base64').toString('utf8')) as {
        h: unknown;
        t: unknown;
        s: unknown;
      };
      if (d.h !== paramsHash || typeof d.t !== 'number' || typeof d.s !== 'number')
        throw new Error('mismatch');
      after = { t: d.t, s: d.s };
    } catch {
      throw new AwsApiError(
        'InvalidNextTokenException',
        'Invalid NextToken: parameters differ or token is malformed.',
      );
    }
  }
  const q = {
    maxResults,
    ...(attributeKey !== undefined ? { attributeKey } : {}),
    ...(attributeValue !== undefined ? { attributeValue } : {}),
    ...(startMs !== undefined ? { startMs } : {}),
    ...(endMs !== undefined ? { endMs } : {}),
    ...(after ? { after } : {}),
  };
  const { events, more } = log.lookup(region, q);
  const out: Record<string, unknown> = {
    Events: events.map((e) => ({
      EventId: e.eventId,
      EventName: e.eventName,
      ReadOnly: String(e.readOnly),
      AccessKeyId: e.accessKeyId,
      EventTime: e.eventTimeMs / 1000,
      EventSource: e.eventSource,
      Username: e.username,
      Resources: e.resources,
      CloudTrailEvent: e.cloudTrailEvent,
    })),
  };
  const last = events[events.length - 1];
  if (more && last) {
    out['NextToken'] = Buffer.from(
      JSON.stringify({ h: paramsHash, t: last.eventTimeMs, s: last.seq }),
    ).toString('base64');
  }
  return out;
}
