/**
 * The documented ECS EventBridge samples (test/fixtures/samples/eventbridge-ecs/, from the ECS
 * developer guide) through the feed's message parsing and the ECS event mapping: raw and
 * SNS-wrapped bodies, the task event as a full Pod-like workload with its digest and version, the
 * container instance event as a node, the deployment event as a service reference, and the
 * steady-state noise and foreign events as nothing. Table tests of the pure mapping.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEventMessage } from '../../adapters/aws/sqs-feed.js';
import type { EventBridgeEvent } from '../../adapters/aws/sqs-feed.js';
import { mapEcsEvent } from '../../adapters/ecs/event-mapping.js';
import { normalizeContainerInstance, normalizeTask } from '../../adapters/ecs/normalizer.js';

const dir = new URL('../fixtures/samples/eventbridge-ecs/', import.meta.url);
const raw = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
const ACCOUNT = '111122223333';

function sample(name: string): EventBridgeEvent {
  const e = parseEventMessage(raw(name));
  if (!e) throw new Error(`${name} did not parse`);
  return e;
}

const ctx = (region: string) => ({
  account: ACCOUNT,
  region,
  tenant: { group: 'g', issuer: 'https://issuer.example.com' },
  agentVersion: 'test',
});

describe('ECS EventBridge samples', () => {
  it('a task state change is the whole task: workload, digest and version, no read needed', () => {
    const m = mapEcsEvent(sample('task-state-change-1.json'), 'us-west-2', ACCOUNT);
    expect(m.outcome).toBe('mapped');
    const [ref] = m.refs;
    if (ref?.kind !== 'taskState') throw new Error('not a task state');
    expect(ref.taskArn).toBe(
      'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad',
    );
    const pod = normalizeTask(ctx('us-west-2'), ref.task, undefined);
    expect(pod).toMatchObject({
      kind: 'workload',
      order: 4,
      workload: {
        kind: 'Pod',
        namespace: 'FargateCluster',
        status: 'RUNNING',
        containers: [
          {
            name: 'FargateApp',
            image: {
              repository: 'hello-repository',
              tag: 'latest',
              digest: 'sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6',
            },
          },
        ],
      },
    });
  });

  it('the same event wrapped by SNS maps the same', () => {
    const wrapped = JSON.stringify({
      Type: 'Notification',
      MessageId: 'm',
      Message: raw('task-state-change-1.json'),
    });
    expect(parseEventMessage(wrapped)).toEqual(sample('task-state-change-1.json'));
  });

  it('a container instance state change is the node, ordered by its version', () => {
    const m = mapEcsEvent(sample('container-instance-state-change-1.json'), 'us-east-1', ACCOUNT);
    const [ref] = m.refs;
    if (ref?.kind !== 'nodeState') throw new Error('not a node state');
    expect(normalizeContainerInstance(ref.clusterArn, ref.instance)).toMatchObject({
      kind: 'node',
      order: 14801,
      node: { name: 'i-f3a8506b', metadata: { agentVersion: '1.13.0', status: 'ACTIVE' } },
    });
  });

  it.each([
    [
      'deployment-completed-1.json',
      'us-west-2',
      'mapped',
      [
        {
          kind: 'service',
          clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/default',
          service: 'arn:aws:ecs:us-west-2:111122223333:service/default/servicetest',
          deleted: false,
        },
      ],
    ],
    ['service-action-steady-state-1.json', 'us-west-2', 'ignored', []],
    ['task-state-change-1.json', 'us-east-1', 'other-region', []],
  ])('%s in %s: %s', (name, region, outcome, refs) => {
    expect(mapEcsEvent(sample(name), region, ACCOUNT)).toEqual({ outcome, refs });
  });

  it.each([
    ['another account', { account: '999999999999' }, 'foreign'],
    ['another source', { source: 'aws.ec2' }, 'foreign'],
    [
      'a task without its ARN',
      { detail: { clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/x' } },
      'malformed',
    ],
    ['an unknown detail type', { 'detail-type': 'ECS Something New' }, 'ignored'],
  ])('%s: %s', (_what, patch, outcome) => {
    const doc = { ...(JSON.parse(raw('task-state-change-1.json')) as Record<string, unknown>), ...patch };
    const e = parseEventMessage(JSON.stringify(doc));
    if (!e) throw new Error('did not parse');
    expect(mapEcsEvent(e, 'us-west-2', ACCOUNT).outcome).toBe(outcome);
  });

  it.each([['not json'], ['[]'], ['{"id":"x"}'], ['{"Type":"Notification","Message":"{"}']])(
    'message %s holds no event',
    (body) => expect(parseEventMessage(body)).toBeUndefined(),
  );
});
