/**
 * The wire-level ECS + CloudTrail + STS emulator: one node:http server on 127.0.0.1 (port 0).
 * awsJson1_1 requests are routed by `x-amz-target` (AmazonEC2ContainerServiceV20141113.<Op>,
 * CloudTrail_20131101.LookupEvents); form-encoded requests without a target are STS (awsQuery).
 * The region comes from the SigV4 credential scope. Errors are HTTP 400 `{"__type","message"}`.
 *
 * Per call: fault injection, then AWS token-bucket throttling, then the handler; the call is
 * counted (`calls`) and, as CloudTrail does, recorded as a read event (readOnly true).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { delay, header, listenLoopback, readBody } from '../../aws/emulator/http.js';
import { CloudTrailLog } from './cloudtrail-log.js';
import { ApiError, ECS_HANDLERS } from './ecs-api.js';
import { Faults } from './faults.js';
import { Fleet } from './fleet.js';
import { lookupEvents } from './lookup-events.js';
import { StsEmulator } from './sts.js';
import { ThrottleBuckets } from './throttle.js';
import type { ThrottlingOptions } from './throttle.js';

const ECS_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
const CLOUDTRAIL_PREFIX = 'CloudTrail_20131101.';

export interface EcsEmulatorOptions {
  account?: string;
  region?: string;
  /** Emulator clock in ms (default Date.now). */
  now?: () => number;
  throttling?: Partial<ThrottlingOptions>;
  /** Delay between an API call and its visibility in LookupEvents (default 0). */
  cloudTrailDeliveryDelayMs?: number;
  /** Record the callers' read calls as CloudTrail events (default true, as CloudTrail does). */
  recordReadEvents?: boolean;
}

/** Per-action call counters. */
export class CallCounters {
  private readonly counts = new Map<string, number>();
  private readonly throttledCounts = new Map<string, number>();
  /** Every action ever served or refused (survives reset, for the IAM coverage check). */
  readonly actionsSeen = new Set<string>();

  count(action: string, outcome: 'ok' | 'throttled' | 'error'): void {
    this.actionsSeen.add(action);
    if (outcome === 'throttled')
      this.throttledCounts.set(action, (this.throttledCounts.get(action) ?? 0) + 1);
    this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
  }
  /** Calls received for `action` (all outcomes). */
  get(action: string): number {
    return this.counts.get(action) ?? 0;
  }
  throttled(action?: string): number {
    if (action !== undefined) return this.throttledCounts.get(action) ?? 0;
    let n = 0;
    for (const v of this.throttledCounts.values()) n += v;
    return n;
  }
  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  byAction(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
  reset(): void {
    this.counts.clear();
    this.throttledCounts.clear();
  }
}

export interface EcsEmulator {
  /** `http://127.0.0.1:PORT` — pass as the ECS, CloudTrail and STS endpoint. */
  endpoint: string;
  fleet: Fleet;
  faults: Faults;
  calls: CallCounters;
  cloudTrail: CloudTrailLog;
  sts: StsEmulator;
  throttle: ThrottleBuckets;
  stop(): Promise<void>;
}

export async function startEcsEmulator(options: EcsEmulatorOptions = {}): Promise<EcsEmulator> {
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? (() => Date.now());
  const cloudTrail = new CloudTrailLog(account, now, options.cloudTrailDeliveryDelayMs ?? 0);
  const fleet = new Fleet({ account, region, now, trail: cloudTrail });
  const faults = new Faults(now, account);
  const calls = new CallCounters();
  const sts = new StsEmulator(now);
  const throttle = new ThrottleBuckets(
    { enabled: options.throttling?.enabled ?? true, scale: options.throttling?.scale ?? 1 },
    now,
  );
  const recordReads = options.recordReadEvents ?? true;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const target = header(req, 'x-amz-target');
    const auth = header(req, 'authorization') ?? '';
    const scope = /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]+)\//.exec(auth);
    const accessKeyId = scope?.[1];
    const callRegion = scope?.[2] ?? region;

    if (target === undefined) {
      // STS AssumeRole (awsQuery).
      const decision = faults.decide('AssumeRole', accessKeyId);
      if (decision.delayMs > 0) await delay(decision.delayMs);
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
    const fail = (err: ApiError): void => {
      calls.count(action, err.type === 'ThrottlingException' ? 'throttled' : 'error');
      send(err.status, { __type: err.type, message: err.message });
    };

    const decision = faults.decide(action, accessKeyId);
    if (decision.delayMs > 0) await delay(decision.delayMs);
    if (decision.kind === 'error') {
      fail(new ApiError(decision.type, decision.message, decision.status));
      return;
    }
    if (!throttle.take(account, callRegion, action)) {
      fail(new ApiError('ThrottlingException', 'Rate exceeded'));
      return;
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body);
      input = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      fail(new ApiError('SerializationException', 'Request body is not JSON'));
      return;
    }
    try {
      let out: Record<string, unknown>;
      if (isTrail) {
        out = lookupEvents(cloudTrail, callRegion, input);
      } else {
        const handler = isEcs ? ECS_HANDLERS[action] : undefined;
        if (!handler) throw new ApiError('UnknownOperationException', `Unknown operation ${target}`);
        out = handler(fleet, callRegion, input);
      }
      calls.count(action, 'ok');
      if (recordReads) {
        cloudTrail.record({
          region: callRegion,
          eventName: action,
          eventSource: isTrail ? 'cloudtrail.amazonaws.com' : 'ecs.amazonaws.com',
          readOnly: true,
          requestParameters: isTrail ? null : summarize(input),
          ...(accessKeyId !== undefined ? { accessKeyId } : {}),
          username: 'sightline',
        });
      }
      send(200, out);
    } catch (err) {
      fail(err instanceof ApiError ? err : new ApiError('ServerException', 'Internal error', 500));
    }
  };

  const server = await listenLoopback(handle, {
    contentType: 'application/x-amz-json-1.1',
    body: { __type: 'ServerException', message: 'Internal error' },
  });

  return {
    endpoint: server.endpoint,
    fleet,
    faults,
    calls,
    cloudTrail,
    sts,
    throttle,
    stop: server.stop,
  };
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
