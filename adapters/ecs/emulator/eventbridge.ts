/**
 * What ECS sends to EventBridge, for the emulated fleet: attached as the fleet's observer, it
 * publishes "ECS Task State Change" (detail shaped as a DescribeTasks task, with
 * `containers[].imageDigest` and `version`, times as ISO strings), "ECS Deployment State Change"
 * and "ECS Container Instance State Change" events, and on request "ECS Service Action" (e.g. the
 * periodic SERVICE_STEADY_STATE), into a queue of the SQS emulator: raw, as a rule with an SQS
 * target delivers them, or wrapped in an SNS Notification (`snsWrap`). Shapes follow the
 * documented samples (test/fixtures/samples/eventbridge-ecs/). The queue's knobs (delay,
 * duplicates, reordering, loss, outage) apply to what is published here.
 */
import { randomUUID } from 'node:crypto';
import type { SqsEmulator } from '../../aws/emulator/sqs.js';
import { containerInstanceOut, taskOut } from './ecs-api.js';
import type { EmuContainerInstance, EmuService, EmuTask, Fleet, FleetObserver } from './fleet.js';

export interface EventBridgeOptions {
  queue: string;
  /** Wrap each event in an SNS Notification (an SNS topic between the rule and the queue). */
  snsWrap?: boolean;
  now?: () => number;
}

const TIME_FIELDS = ['createdAt', 'startedAt', 'stoppedAt', 'registeredAt'];

/** DescribeTasks output (epoch seconds) -> the event's detail (ISO strings, no absent fields). */
function eventDetail(out: Record<string, unknown>, updatedAtMs: number): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) {
    if (v === undefined) continue;
    d[k] = TIME_FIELDS.includes(k) && typeof v === 'number' ? new Date(v * 1000).toISOString() : v;
  }
  d['updatedAt'] = new Date(updatedAtMs).toISOString();
  return d;
}

export class EventBridgePublisher implements FleetObserver {
  /** Events published (before the queue's knobs). */
  published = 0;
  private readonly now: () => number;

  constructor(
    private readonly fleet: Fleet,
    private readonly sqs: SqsEmulator,
    private readonly options: EventBridgeOptions,
  ) {
    this.now = options.now ?? (() => Date.now());
  }

  /** Starts publishing the fleet's changes. */
  attach(): this {
    this.fleet.observer = this;
    return this;
  }

  detach(): void {
    if (this.fleet.observer === this) this.fleet.observer = undefined;
  }

  task(t: EmuTask): void {
    const detail = eventDetail(taskOut(t, false), this.now());
    detail['containers'] = (detail['containers'] as Record<string, unknown>[]).map((c) =>
      Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)),
    );
    this.publish('ECS Task State Change', regionOf(t.arn), [t.arn], detail);
  }

  deployment(s: EmuService, eventName: string, deploymentId: string): void {
    this.publish('ECS Deployment State Change', regionOf(s.arn), [s.arn], {
      eventType: 'INFO',
      eventName,
      deploymentId,
      updatedAt: new Date(this.now()).toISOString(),
      reason: `ECS deployment ${deploymentId} ${eventName === 'SERVICE_DEPLOYMENT_COMPLETED' ? 'completed' : 'in progress'}.`,
    });
  }

  containerInstance(ci: EmuContainerInstance): void {
    const detail = eventDetail(containerInstanceOut(ci, false), this.now());
    detail['clusterArn'] = ci.clusterArn;
    this.publish('ECS Container Instance State Change', regionOf(ci.arn), [ci.arn], detail);
  }

  /** An "ECS Service Action" (SERVICE_STEADY_STATE by default: the periodic noise). */
  serviceAction(s: EmuService, eventName = 'SERVICE_STEADY_STATE'): void {
    this.publish('ECS Service Action', regionOf(s.arn), [s.arn], {
      eventType: 'INFO',
      eventName,
      clusterArn: s.clusterArn,
      createdAt: new Date(this.now()).toISOString(),
    });
  }

  /** Publishes any body as is (poison messages in tests). */
  raw(body: string): void {
    this.sqs.send(this.options.queue, body);
  }

  private publish(
    detailType: string,
    region: string,
    resources: string[],
    detail: Record<string, unknown>,
  ): void {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: 'aws.ecs',
      account: this.fleet.account,
      time: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources,
      detail,
    };
    this.published++;
    let body = JSON.stringify(event);
    if (this.options.snsWrap === true) {
      body = JSON.stringify({
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: `arn:aws:sns:${region}:${this.fleet.account}:ecs-events`,
        Message: body,
        Timestamp: new Date(this.now()).toISOString(),
        SignatureVersion: '1',
      });
    }
    this.sqs.send(this.options.queue, body);
  }
}

function regionOf(arn: string): string {
  return arn.split(':')[3] ?? '';
}
