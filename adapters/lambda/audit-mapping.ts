/**
 * One CloudTrail record -> the Lambda function it changed. Lambda's management events carry a
 * versioned API name (`CreateFunction20150331`, `UpdateFunctionCode20150331v2`,
 * `UpdateFunctionConfiguration20150331v2`, `PublishVersion20150331`, `CreateAlias20150331`,
 * `UpdateAlias20150331`, `DeleteAlias20150331`, `DeleteFunction20150331`, `TagResource20170331v2`,
 * `UntagResource20170331v2`, ...): the suffix is dropped before matching, so a future API version
 * of the same call still maps. The function comes from `requestParameters.functionName` (a name,
 * `name:qualifier`, or a full or partial ARN) or, for tag calls, `requestParameters.resource`.
 *
 * Outcomes (counted by the shared feed): `mapped`, `read` (readOnly), `errored` (the call failed),
 * `other-region`, `ignored` (another service, or a call that changes nothing we report), and
 * `malformed`. Never throws.
 */
import type { MappedRecord } from '../aws/cloudtrail-feed.js';
import { functionNameOf } from './keys.js';

/** A change to one function of the feed's region. */
export interface LambdaRef {
  functionName: string;
}

/** Calls whose effect the model shows: the function, its versions, aliases (serving) or tags. */
const CHANGING_CALLS: ReadonlySet<string> = new Set([
  'CreateFunction',
  'UpdateFunctionCode',
  'UpdateFunctionConfiguration',
  'PublishVersion',
  'DeleteFunction',
  'CreateAlias',
  'UpdateAlias',
  'DeleteAlias',
  'TagResource',
  'UntagResource',
]);

/** `UpdateFunctionCode20150331v2` -> `UpdateFunctionCode`. */
export function baseEventName(eventName: string): string {
  return eventName.replace(/\d{8}(v\d+)?$/, '');
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** The function a Lambda call's parameters name, if any. */
export function functionOfCall(params: Record<string, unknown> | undefined): string | undefined {
  const ref = params?.['functionName'] ?? params?.['resource'];
  return typeof ref === 'string' ? functionNameOf(ref) : undefined;
}

export function mapCloudTrailEvent(raw: string, region: string): MappedRecord<LambdaRef> {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = obj(JSON.parse(raw));
  } catch {
    doc = undefined;
  }
  if (!doc) return { outcome: 'malformed', refs: [] };
  const eventName = doc['eventName'];
  const eventTimeMs = typeof doc['eventTime'] === 'string' ? Date.parse(doc['eventTime']) : NaN;
  if (typeof eventName !== 'string' || Number.isNaN(eventTimeMs)) return { outcome: 'malformed', refs: [] };
  const base = { eventTimeMs };
  if (doc['eventSource'] !== 'lambda.amazonaws.com') return { ...base, outcome: 'ignored', refs: [] };
  if (doc['readOnly'] === true) return { ...base, outcome: 'read', refs: [] };
  if (doc['errorCode'] !== undefined && doc['errorCode'] !== null)
    return { ...base, outcome: 'errored', refs: [] };
  if (doc['awsRegion'] !== region) return { ...base, outcome: 'other-region', refs: [] };
  if (!CHANGING_CALLS.has(baseEventName(eventName))) return { ...base, outcome: 'ignored', refs: [] };
  const name = functionOfCall(obj(doc['requestParameters']));
  if (name === undefined) return { ...base, outcome: 'malformed', refs: [] };
  return { ...base, outcome: 'mapped', refs: [{ functionName: name }] };
}
