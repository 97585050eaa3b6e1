/**
 * What Lambda sends to EventBridge's default bus, for the emulated fleet: attached as the fleet's
 * observer, it publishes a function state change event (source `aws.lambda`, detail-type
 * `Lambda Function State Change`, detail with `functionName`, `functionArn` (qualified for a
 * published version), `version`, `state`, `lastUpdateStatus` and the change) on every create,
 * code or configuration update, publish and delete, into a queue of the SQS emulator (raw, as a
 * rule with an SQS target delivers it). Alias and tag changes publish nothing (Lambda sends no
 * state change for them: the adapter keeps CloudTrail for those). The queue's knobs apply.
 */
import { randomUUID } from 'node:crypto';
import type { SqsEmulator } from '../../aws/emulator/sqs.js';
import type { EmuFunction, FunctionChange, FunctionObserver, LambdaFleet } from './fleet.js';

export const LAMBDA_STATE_CHANGE = 'Lambda Function State Change';

export class LambdaEventPublisher implements FunctionObserver {
  /** Events published (before the queue's knobs). */
  published = 0;

  constructor(
    private readonly fleet: LambdaFleet,
    private readonly sqs: SqsEmulator,
    private readonly queue: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  attach(): this {
    this.fleet.observer = this;
    return this;
  }

  detach(): void {
    if (this.fleet.observer === this) this.fleet.observer = undefined;
  }

  functionChanged(fn: EmuFunction, change: FunctionChange, qualifier?: string): void {
    const functionArn = qualifier !== undefined ? `${fn.arn}:${qualifier}` : fn.arn;
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': LAMBDA_STATE_CHANGE,
      source: 'aws.lambda',
      account: this.fleet.account,
      time: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: fn.region,
      resources: [functionArn],
      detail: {
        functionName: fn.name,
        functionArn,
        version: qualifier ?? '$LATEST',
        state: change === 'deleted' ? 'Deleted' : fn.state,
        lastUpdateStatus: 'Successful',
        change,
      },
    };
    this.published++;
    this.sqs.send(this.queue, JSON.stringify(event));
  }

  /** Publishes any body as is (poison messages in tests). */
  raw(body: string): void {
    this.sqs.send(this.queue, body);
  }
}
