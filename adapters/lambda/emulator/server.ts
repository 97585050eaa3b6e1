/**
 * The wire-level Lambda + CloudTrail emulator (tests, benchmarks, the demo): one node:http server on
 * 127.0.0.1 (port 0). Lambda's REST-JSON read API (lambda-api.ts) is routed by path under
 * `/2015-03-31/functions`; awsJson1_1 requests with `x-amz-target: CloudTrail_20131101.LookupEvents`
 * are CloudTrail (the ECS emulator's CloudTrail log and LookupEvents, shared, not copied). The
 * region comes from the SigV4 credential scope.
 *
 * Per call: fault injection (the ECS emulator's `Faults`: storms, 5xx, slow responses, expired keys,
 * denied actions), then Lambda's throttling (429 TooManyRequestsException, as Lambda answers), then
 * the handler; the call is counted and, as CloudTrail does, recorded as a read event (readOnly true).
 * Errors are REST-JSON: the status, `x-amzn-errortype` and `{"Type","message"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { delay, header, listenLoopback, readBody } from '../../aws/emulator/http.js';
import { CloudTrailLog } from '../../ecs/emulator/cloudtrail-log.js';
import { lookupEvents } from '../../ecs/emulator/lookup-events.js';
import { Faults } from '../../ecs/emulator/faults.js';
import { CallCounters } from '../../ecs/emulator/server.js';
import { FleetError, LambdaFleet } from './fleet.js';
import { handle, route } from './lambda-api.js';
import { LambdaThrottle } from './throttle.js';
import type { LambdaThrottling } from './throttle.js';

const CLOUDTRAIL_TARGET = 'CloudTrail_20131101.LookupEvents';

export interface LambdaEmulatorOptions {
  account?: string;
  region?: string;
  now?: () => number;
  throttling?: Partial<LambdaThrottling>;
  cloudTrailDeliveryDelayMs?: number;
  /** Record the callers' read calls as CloudTrail events (default true, as CloudTrail does). */
  recordReadEvents?: boolean;
}

export interface LambdaEmulator {
  /** `http://127.0.0.1:PORT`: the Lambda and CloudTrail endpoint. */
  endpoint: string;
  account: string;
  fleet: LambdaFleet;
  faults: Faults;
  calls: CallCounters;
  cloudTrail: CloudTrailLog;
  throttle: LambdaThrottle;
  stop(): Promise<void>;
}

export { CallCounters };

export async function startLambdaEmulator(options: LambdaEmulatorOptions = {}): Promise<LambdaEmulator> {
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? (() => Date.now());
  const cloudTrail = new CloudTrailLog(account, now, options.cloudTrailDeliveryDelayMs ?? 0);
  const fleet = new LambdaFleet(account, region, now, cloudTrail);
  const faults = new Faults(now, account);
  const calls = new CallCounters();
  const throttle = new LambdaThrottle(
    { enabled: options.throttling?.enabled ?? true, scale: options.throttling?.scale ?? 1 },
    now,
  );
  const recordReads = options.recordReadEvents ?? true;

  const handleRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const auth = header(req, 'authorization') ?? '';
    const scope = /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]+)\//.exec(auth);
    const accessKeyId = scope?.[1];
    const callRegion = scope?.[2] ?? region;
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

    const decision = faults.decide(action, accessKeyId);
    if (decision.delayMs > 0) await delay(decision.delayMs);
    if (decision.kind === 'error') {
      // The shared Faults word denials for ECS; Lambda's IAM prefix is lambda.
      const message =
        decision.type === 'AccessDeniedException' && !isTrail
          ? decision.message.replaceAll(`ecs:${action}`, `lambda:${action}`)
          : decision.message;
      const status = decision.type === 'AccessDeniedException' && !isTrail ? 403 : decision.status;
      const type =
        decision.type === 'ThrottlingException' && !isTrail ? 'TooManyRequestsException' : decision.type;
      fail(type === 'TooManyRequestsException' ? 429 : status, type, message);
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
        const parsed: unknown = body.length === 0 ? {} : JSON.parse(body);
        out = lookupEvents(
          cloudTrail,
          callRegion,
          parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {},
        );
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
      if (recordReads) {
        cloudTrail.record({
          region: callRegion,
          eventName: isTrail ? action : `${action}20150331`,
          eventSource: isTrail ? 'cloudtrail.amazonaws.com' : 'lambda.amazonaws.com',
          readOnly: true,
          requestParameters: rest?.functionName !== undefined ? { functionName: rest.functionName } : null,
          ...(accessKeyId !== undefined ? { accessKeyId } : {}),
          username: 'sightline',
        });
      }
      send(200, out);
    } catch (err) {
      if (err instanceof FleetError) fail(err.status, err.type, err.message);
      else if (err instanceof SyntaxError) fail(400, 'SerializationException', 'Request body is not JSON');
      else if (err instanceof Error && 'type' in err && typeof err.type === 'string')
        fail(400, err.type, err.message); // CloudTrail's ApiError
      else fail(500, 'ServiceException', 'Internal error');
    }
  };

  const server = await listenLoopback(handleRequest, {
    contentType: 'application/json',
    body: { Type: 'Service', message: 'Internal error' },
  });

  return {
    endpoint: server.endpoint,
    account,
    fleet,
    faults,
    calls,
    cloudTrail,
    throttle,
    stop: server.stop,
  };
}
