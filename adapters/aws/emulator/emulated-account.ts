/**
 * What every AWS emulator (ECS's, Lambda's) keeps for its one emulated account, built from the
 * options they all take: the CloudTrail log (LookupEvents sees what the fleet and the callers did),
 * fault injection, call counters and AWS's throttling with the service's documented buckets.
 * `faultOf` is a call's injected fault after its injected delay; `recordRead` records a served read
 * call as CloudTrail does (readOnly true, user `sightline`) unless `recordReadEvents` is off.
 */
import { CallCounters } from './call-counters.js';
import { CloudTrailLog } from './cloudtrail-log.js';
import { Faults } from './faults.js';
import type { FaultDecision } from './faults.js';
import { delay } from './http.js';
import type { LoopbackServer } from './http.js';
import { ThrottleBuckets } from './throttle.js';
import type { ServiceBuckets, ThrottlingOptions } from './throttle.js';

export interface AwsEmulatorOptions {
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

/** The emulated service: its CloudTrail event source, its IAM prefix and its throttling buckets. */
export interface EmulatedService {
  eventSource: string;
  iamPrefix: string;
  buckets: ServiceBuckets;
}

/** What every AWS emulator gives its users (tests, benchmarks, the demo); each adds its fleet. */
export interface AwsEmulator {
  /** `http://127.0.0.1:PORT`: the endpoint of every API the emulator serves. */
  endpoint: string;
  account: string;
  faults: Faults;
  calls: CallCounters;
  cloudTrail: CloudTrailLog;
  throttle: ThrottleBuckets;
  stop(): Promise<void>;
}

export interface EmulatedAccount {
  account: string;
  /** The region of an unsigned call. */
  region: string;
  now: () => number;
  cloudTrail: CloudTrailLog;
  faults: Faults;
  calls: CallCounters;
  throttle: ThrottleBuckets;
  /** The injected fault of a call, once its injected delay (a slow response) has passed. */
  faultOf(action: string, accessKeyId: string | undefined): Promise<FaultDecision>;
  /** Records a served read call in CloudTrail (nothing when `recordReadEvents` is off). */
  recordRead(read: {
    region: string;
    eventName: string;
    eventSource: string;
    requestParameters: unknown;
    accessKeyId: string | undefined;
  }): void;
  /** The emulator's users' view of the account, served by `server`. */
  servedBy(server: LoopbackServer): AwsEmulator;
}

export function emulatedAccount(options: AwsEmulatorOptions, service: EmulatedService): EmulatedAccount {
  const account = options.account ?? '123456789012';
  const now = options.now ?? (() => Date.now());
  const cloudTrail = new CloudTrailLog(
    account,
    now,
    service.eventSource,
    options.cloudTrailDeliveryDelayMs ?? 0,
  );
  const recordReads = options.recordReadEvents ?? true;
  const faults = new Faults(now, account, service.iamPrefix);
  const calls = new CallCounters();
  const throttle = new ThrottleBuckets(
    { enabled: options.throttling?.enabled ?? true, scale: options.throttling?.scale ?? 1 },
    service.buckets,
    now,
  );
  return {
    account,
    region: options.region ?? 'us-east-1',
    now,
    cloudTrail,
    faults,
    calls,
    throttle,
    async faultOf(action, accessKeyId) {
      const decision = faults.decide(action, accessKeyId);
      if (decision.delayMs > 0) await delay(decision.delayMs);
      return decision;
    },
    servedBy: (server) => ({
      endpoint: server.endpoint,
      account,
      faults,
      calls,
      cloudTrail,
      throttle,
      stop: server.stop,
    }),
    recordRead(read) {
      if (!recordReads) return;
      cloudTrail.record({
        region: read.region,
        eventName: read.eventName,
        eventSource: read.eventSource,
        readOnly: true,
        requestParameters: read.requestParameters,
        ...(read.accessKeyId !== undefined ? { accessKeyId: read.accessKeyId } : {}),
        username: 'sightline',
      });
    },
  };
}
