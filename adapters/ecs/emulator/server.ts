/**
 * The wire-level ECS + CloudTrail + STS emulator: one node:http server on 127.0.0.1 (port 0).
 * awsJson1_1 requests are routed by `x-amz-target` (AmazonEC2ContainerServiceV20141113.<Op>,
 * CloudTrail_20131101.LookupEvents); form-encoded requests without a target are STS (awsQuery).
 * The region comes from the SigV4 credential scope. Errors are HTTP 400 `{"__type","message"}`.
 *
 * Per call: fault injection, then AWS token-bucket throttling (ECS's documented buckets,
 * adapters/ecs/limits.ts), then the handler; the call is counted (`calls`) and, as CloudTrail does,
 * recorded as a read event (readOnly true). The CloudTrail log, faults, counters and throttle are
 * every AWS emulator's (adapters/aws/emulator/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsApiError } from '../../aws/emulator/api-error.js';
import { emulatedAccount } from '../../aws/emulator/emulated-account.js';
import type { AwsEmulator, AwsEmulatorOptions } from '../../aws/emulator/emulated-account.js';
import { header, jsonObjectBody, listenLoopback, readBody, signingScope } from '../../aws/emulator/http.js';
import { lookupEvents } from '../../aws/emulator/lookup-events.js';
import { ECS_BUCKETS, ecsBucketFor } from '../limits.js';
import { ECS_HANDLERS } from './ecs-api.js';
import { Fleet } from './fleet.js';
import { StsEmulator } from './sts.js';

const ECS_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
const CLOUDTRAIL_PREFIX = 'CloudTrail_20131101.';

export type EcsEmulatorOptions = AwsEmulatorOptions;

export interface EcsEmulator extends AwsEmulator {
  fleet: Fleet;
  sts: StsEmulator;
}

export async function startEcsEmulator(options: EcsEmulatorOptions = {}): Promise<EcsEmulator> {
  const emulated = emulatedAccount(options, {
    eventSource: 'ecs.amazonaws.com',
    iamPrefix: 'ecs',
    buckets: { limits: ECS_BUCKETS, bucketFor: ecsBucketFor },
  });
  const { account, region, now, cloudTrail, calls, throttle } = emulated;
  const fleet = new Fleet({ account, region, now, trail: cloudTrail });
  const sts = new StsEmulator(now);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const target = header(req, 'x-amz-target');
    const { accessKeyId, region: callRegion } = signingScope(req, region);

    if (target === undefined) {
      // STS AssumeRole (awsQuery).
      await emulated.faultOf('AssumeRole', accessKeyId);
      const out = sts.handle(body);
      calls.count('AssumeRole', out.status === 200 ? 'ok' : 'error');
      res.writeHead(out.status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'emu' });
      res.end(out.xml);
      return;
    }

    const isEcs = target.startsWith(ECS_PREFIX);
    const isTrail = target === `${CLOUDTRAIL_PREFIX}LookupEvents`;
    const action = isEcs ? target.slice(ECS_PREFIX.length) : isTrail ? 'LookupEvents' : target;
    const send = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'emu' });
      res.end(JSON.stringify(payload));
    };
    const fail = (err: AwsApiError): void => {
      calls.count(action, err.type === 'ThrottlingException' ? 'throttled' : 'error');
      send(err.status, { __type: err.type, message: err.message });
    };

    const decision = await emulated.faultOf(action, accessKeyId);
    if (decision.kind === 'error') {
      fail(new AwsApiError(decision.type, decision.message, decision.status));
      return;
    }
    if (!throttle.take(callRegion, action)) {
      fail(new AwsApiError('ThrottlingException', 'Rate exceeded'));
      return;
    }
    const input = jsonObjectBody(body);
    if (input === undefined) {
      fail(new AwsApiError('SerializationException', 'Request body is not JSON'));
      return;
    }
    try {
      let out: Record<string, unknown>;
      if (isTrail) {
        out = lookupEvents(cloudTrail, callRegion, input);
      } else {
        const handler = isEcs ? ECS_HANDLERS[action] : undefined;
        if (!handler) throw new AwsApiError('UnknownOperationException', `Unknown operation ${target}`);
        out = handler(fleet, callRegion, input);
      }
      calls.count(action, 'ok');
      emulated.recordRead({
        region: callRegion,
        eventName: action,
        eventSource: isTrail ? 'cloudtrail.amazonaws.com' : 'ecs.amazonaws.com',
        requestParameters: isTrail ? null : summarize(input),
        accessKeyId,
      });
      send(200, out);
    } catch (err) {
      fail(err instanceof AwsApiError ? err : new AwsApiError('ServerException', 'Internal error', 500));
    }
  };

  const server = await listenLoopback(handle, {
    contentType: 'application/x-amz-json-1.1',
    body: { __type: 'ServerException', message: 'Internal error' },
  });

  return { ...emulated.servedBy(server), fleet, sts };
}

/** Keeps recorded read events small: scalar request members only. */
function summarize(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v)) out[k] = `${v.length} items`;
  }
  return out;
}
