/**
 * One EventBridge event from the Lambda events queue -> the function it is about. Lambda sends a
 * function state change to the default bus on every create, update, publish and delete (source
 * `aws.lambda`; the function ARN, qualified for a version, in `detail.functionArn` or
 * `resources`); a rule on `aws.lambda` may also forward "AWS API Call via CloudTrail" events, whose
 * detail is the CloudTrail record (mapped as audit-mapping.ts does). Either becomes a refresh of the
 * whole function (its versions and aliases with it), read by the engine: events are not trusted to
 * carry the image.
 *
 * Outcomes (counted as `sightline_change_feed_messages_total{outcome}`): `mapped`, `foreign`
 * (another source), `other-region`, `ignored` (a call that changes nothing we report) and
 * `malformed`. Never throws.
 */
import type { EventBridgeEvent, MappedFeedEvent } from '../aws/sqs-feed.js';
import { baseEventName, functionOfCall } from './audit-mapping.js';
import type { LambdaRef } from './audit-mapping.js';
import { functionNameOf } from './keys.js';

const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
const CHANGING_CALLS = /^(Create|Update|Delete|Publish|Tag|Untag)/;

export function mapLambdaEvent(e: EventBridgeEvent, region: string): MappedFeedEvent<LambdaRef> {
  if (e.source !== 'aws.lambda') return { outcome: 'foreign', refs: [] };
  if (e.region !== '' && e.region !== region) return { outcome: 'other-region', refs: [] };
  if (e.detailType === CLOUDTRAIL_DETAIL_TYPE) {
    const name = typeof e.detail['eventName'] === 'string' ? baseEventName(e.detail['eventName']) : '';
    if (!CHANGING_CALLS.test(name)) return { outcome: 'ignored', refs: [] };
    const params = e.detail['requestParameters'];
    const fn = functionOfCall(
      params !== null && typeof params === 'object' ? (params as Record<string, unknown>) : undefined,
    );
    return fn === undefined
      ? { outcome: 'malformed', refs: [] }
      : { outcome: 'mapped', refs: [{ functionName: fn }] };
  }
  const arn = e.detail['functionArn'] ?? e.detail['functionName'] ?? e.resources[0];
  const fn = typeof arn === 'string' ? functionNameOf(arn) : undefined;
  return fn === undefined
    ? { outcome: 'malformed', refs: [] }
    : { outcome: 'mapped', refs: [{ functionName: fn }] };
}
