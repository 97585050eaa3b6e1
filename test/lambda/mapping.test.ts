/**
 * What CloudTrail records and EventBridge events become: Lambda's versioned event names map to the
 * function they name (a name, a qualified name or an ARN), reads, failed calls, other regions and
 * other services are counted apart, and nothing malformed throws.
 */
import { describe, expect, it } from 'vitest';
import { mapCloudTrailEvent } from '../../adapters/lambda/audit-mapping.js';
import { mapLambdaEvent } from '../../adapters/lambda/event-mapping.js';
import { parseEventMessage } from '../../adapters/aws/sqs-feed.js';
import { servingVersions } from '../../adapters/lambda/normalizer.js';

const REGION = 'us-east-1';
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:checkout';

function record(eventName: string, requestParameters: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    eventVersion: '1.08',
    eventTime: '2026-12-03T09:00:00Z',
    eventSource: 'lambda.amazonaws.com',
    eventName,
    awsRegion: REGION,
    readOnly: false,
    requestParameters,
    ...extra,
  });
}

describe('Lambda CloudTrail mapping', () => {
  it.each([
    ['CreateFunction20150331', { functionName: 'checkout' }],
    ['UpdateFunctionCode20150331v2', { functionName: ARN }],
    ['UpdateFunctionConfiguration20150331v2', { functionName: 'checkout' }],
    ['PublishVersion20150331', { functionName: 'checkout' }],
    ['CreateAlias20150331', { functionName: 'checkout', name: 'live' }],
    ['UpdateAlias20150331', { functionName: `${ARN}:live` }],
    ['DeleteAlias20150331', { functionName: 'checkout:live' }],
    ['DeleteFunction20150331', { functionName: '123456789012:function:checkout' }],
    ['TagResource20170331v2', { resource: ARN, tags: { a: 'b' } }],
    ['UntagResource20170331v2', { resource: ARN, tagKeys: ['a'] }],
  ])('%s names the function', (eventName, params) => {
    expect(mapCloudTrailEvent(record(eventName, params), REGION)).toMatchObject({
      outcome: 'mapped',
      refs: [{ functionName: 'checkout' }],
    });
  });

  it('counts reads, failed calls, other regions, other services, other calls and malformed records apart', () => {
    expect(mapCloudTrailEvent(record('GetFunction20150331v2', {}, { readOnly: true }), REGION).outcome).toBe(
      'read',
    );
    expect(
      mapCloudTrailEvent(
        record('UpdateFunctionCode20150331v2', { functionName: 'x' }, { errorCode: 'AccessDenied' }),
        REGION,
      ).outcome,
    ).toBe('errored');
    expect(
      mapCloudTrailEvent(record('UpdateFunctionCode20150331v2', { functionName: 'x' }), 'eu-west-1').outcome,
    ).toBe('other-region');
    expect(
      mapCloudTrailEvent(record('RunTask', {}, { eventSource: 'ecs.amazonaws.com' }), REGION).outcome,
    ).toBe('ignored');
    expect(
      mapCloudTrailEvent(record('PutFunctionConcurrency20171031', { functionName: 'x' }), REGION).outcome,
    ).toBe('ignored');
    expect(mapCloudTrailEvent(record('UpdateFunctionCode20150331v2', {}), REGION).outcome).toBe('malformed');
    expect(mapCloudTrailEvent('{not json', REGION).outcome).toBe('malformed');
    expect(mapCloudTrailEvent('[]', REGION).outcome).toBe('malformed');
  });
});

describe('Lambda EventBridge mapping', () => {
  const event = (o: Record<string, unknown>): string =>
    JSON.stringify({
      version: '0',
      id: 'e1',
      account: '123456789012',
      region: REGION,
      time: '2026-12-03T09:00:00Z',
      resources: [],
      ...o,
    });

  it('a function state change names the function of its (qualified) ARN', () => {
    const e = parseEventMessage(
      event({
        'detail-type': 'Lambda Function State Change',
        source: 'aws.lambda',
        detail: { functionArn: `${ARN}:7`, state: 'Active' },
      }),
    );
    if (!e) throw new Error('unparsed');
    expect(mapLambdaEvent(e, REGION)).toEqual({ outcome: 'mapped', refs: [{ functionName: 'checkout' }] });
  });

  it('a forwarded CloudTrail call maps like the CloudTrail record; others are foreign, ignored or malformed', () => {
    const ct = parseEventMessage(
      event({
        'detail-type': 'AWS API Call via CloudTrail',
        source: 'aws.lambda',
        detail: {
          eventName: 'UpdateAlias20150331',
          requestParameters: { functionName: 'checkout', name: 'live' },
        },
      }),
    );
    const read = parseEventMessage(
      event({
        'detail-type': 'AWS API Call via CloudTrail',
        source: 'aws.lambda',
        detail: { eventName: 'GetFunction20150331v2' },
      }),
    );
    const ecs = parseEventMessage(
      event({ 'detail-type': 'ECS Task State Change', source: 'aws.ecs', detail: {} }),
    );
    const bad = parseEventMessage(
      event({ 'detail-type': 'Lambda Function State Change', source: 'aws.lambda', detail: {} }),
    );
    if (!ct || !read || !ecs || !bad) throw new Error('unparsed');
    expect(mapLambdaEvent(ct, REGION)).toEqual({ outcome: 'mapped', refs: [{ functionName: 'checkout' }] });
    expect(mapLambdaEvent(read, REGION).outcome).toBe('ignored');
    expect(mapLambdaEvent(ecs, REGION).outcome).toBe('foreign');
    expect(mapLambdaEvent(bad, REGION).outcome).toBe('malformed');
  });
});

describe('serving versions', () => {
  it('the primary gets what the additional weights leave; weight 0 does not serve', () => {
    expect(
      [
        ...servingVersions([
          { FunctionVersion: '3', RoutingConfig: { AdditionalVersionWeights: { '2': 0.25, '1': 0 } } },
        ]),
      ].sort(),
    ).toEqual(['2', '3']);
    expect([
      ...servingVersions([{ FunctionVersion: '3', RoutingConfig: { AdditionalVersionWeights: { '2': 1 } } }]),
    ]).toEqual(['2']);
    expect([...servingVersions([{ FunctionVersion: '$LATEST' }])]).toEqual(['$LATEST']);
  });
});
