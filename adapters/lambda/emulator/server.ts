/**
 * The wire-level Lambda + CloudTrail emulator (tests, benchmarks, the demo): one node:http server on
 * 127.0.0.1 (port 0). Lambda's REST-JSON read API (lambda-api.ts) is routed by path under
 * `/2015-03-31/functions`; awsJson1_1 requests with `x-amz-target: CloudTrail_20131101.LookupEvents`
 * are CloudTrail (every AWS emulator's CloudTrail log and LookupEvents, adapters/aws/emulator/). The
 * region comes from the SigV4 credential scope.
 *
 * Per call: fault injection (the shared `Faults`: storms, 5xx, slow responses, expired keys, denied
 * actions), then Lambda's throttling with its documented buckets (adapters/lambda/limits.ts; 429
 * TooManyRequestsException, as Lambda answers), then the handler; the call is counted and, as
 * CloudTrail does, recorded as a read event (readOnly true).
 * Errors are REST-JSON: the status, `x-amzn-errortype` and `{"Type","message"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsApiError } from '../../aws/emulator/api-error.js';
import { emulatedAccount } from '../../aws/emulator/emulated-account.js';
import type { AwsEmulator, AwsEmulatorOptions } from '../../aws/emulator/emulated-account.js';
import { header, jsonObjectBody, listenLoopback, readBody, signingScope } from '../../aws/emulator/http.js';
import { lookupEvents } from '../../aws/emulator/lookup-events.js';
import { LAMBDA_BUCKETS, lambdaBucketFor } from '../limits.js';
import { FleetError, LambdaFleet } from './fleet.js';
import { handle, route } from './lambda-api.js';

const CLOUDTRAIL_TARGET = 'CloudTrail_20131101.LookupEvents';

export type LambdaEmulatorOptions = AwsEmulatorOptions;

export interface LambdaEmulator extends AwsEmulator {
  fleet: LambdaFleet;
}

export async function startLambdaEmulator(options: LambdaEmulatorOptions = {}): Promise<LambdaEmulator> {
  const emulated = emulatedAccount(options, {
    eventSource: 'lambda.amazonaws.com',
    iamPrefix: 'lambda',
    buckets: { limits: LAMBDA_BUCKETS, bucketFor: lambdaBucketFor },
  });
  const { account, region, now, cloudTrail, calls, throttle } = emulated;
  const fleet = new LambdaFleet(account, region, now, cloudTrail);

  const handleRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const { accessKeyId, region: callRegion } = signingScope(req, region);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const isTrail = header(req, 'x-amz-target') === CLOUDTRAIL_TARGET;
    const rest = isTrail ? undefined : route(req.method ?? 'GET', url.pathname, url.searchParams);
    const action = isTrail ? 'LookupEvents' : (rest?.action ?? 'Unknown');

    const send = (status: number, payload: unknown, extra: Record<string, string> = {}): void => {
      res.writeHead(status, {
        'content-type': isTrail ? 'application/x-amz-json-1.1' : 'application/json',
        'x-amzn-requestid': 'emu',
        ...extra,
      });
      res.end(JSON.stringify(payload));
    };
    const fail = (
      status: number,
      type: string,
      message: string,
      extra: Record<string, string> = {},
    ): void => {
      calls.count(
        action,
        type === 'TooManyRequestsException' || type === 'ThrottlingException' ? 'throttled' : 'error',
      );
      if (isTrail) send(status, { __type: type, message });
      else send(status, { Type: 'User', message }, { 'x-amzn-errortype': type, ...extra });
    };

    const decision = await emulated.faultOf(action, accessKeyId);
    if (decision.kind === 'error') {
      // Lambda's REST API answers a denial with 403 and throttling with 429 TooManyRequestsException.
      if (isTrail) fail(decision.status, decision.type, decision.message);
      else if (decision.type === 'ThrottlingException')
        fail(429, 'TooManyRequestsException', decision.message);
      else if (decision.type === 'AccessDeniedException') fail(403, decision.type, decision.message);
      else fail(decision.status, decision.type, decision.message);
      return;
    }
    if (!throttle.take(callRegion, action)) {
      if (isTrail) fail(400, 'ThrottlingException', 'Rate exceeded');
      else fail(429, 'TooManyRequestsException', 'Rate exceeded', { 'retry-after': '1' });
      return;
    }
    try {
      let out: Record<string, unknown>;
      if (isTrail) {
        const input = jsonObjectBody(body);
        if (input === undefined) throw new AwsApiError('SerializationException', 'Request body is not JSON');
        out = lookupEvents(cloudTrail, callRegion, input);
      } else {
        if (!rest)
          throw new FleetError(
            'UnknownOperationException',
            `No route for ${req.method ?? ''} ${url.pathname}`,
            404,
          );
        out = handle(fleet, callRegion, rest);
      }
      calls.count(action, 'ok');
      emulated.recordRead({
        region: callRegion,
        eventName: isTrail ? action : `${action}20150331`,
        eventSource: isTrail ? 'cloudtrail.amazonaws.com' : 'lambda.amazonaws.com',
        requestParameters: rest?.functionName !== undefined ? { functionName: rest.functionName } : null,
        accessKeyId,
      });
      send(200, out);
    } catch (err) {
      if (err instanceof AwsApiError) fail(err.status, err.type, err.message);
      else fail(500, 'ServiceException', 'Internal error');
    }
  };

  const server = await listenLoopback(handleRequest, {
    contentType: 'application/json',
    body: { Type: 'Service', message: 'Internal error' },
  });

  return { ...emulated.servedBy(server), fleet };
}
