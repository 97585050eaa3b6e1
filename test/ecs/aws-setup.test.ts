/**
 * The customer-side setup as code (config/aws-ecs-events/: CloudFormation and Terraform JSON) and
 * the reader's IAM policy (config/iam/ecs-events-policy.json): both templates parse; their
 * EventBridge rules deliver the documented ECS samples and drop SERVICE_STEADY_STATE (checked with
 * a matcher for the pattern subset they use: exact values, anything-but, prefix); the queue accepts
 * only those rules (aws:SourceArn) and has a dead-letter queue; every SQS action the feed's code
 * sends is in the policy.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const json = (path: string): unknown => JSON.parse(readFileSync(new URL(path, root), 'utf8'));
const sample = (name: string): unknown => json(`test/fixtures/samples/eventbridge-ecs/${name}`);

type Pattern = Record<string, unknown>;

/** EventBridge content matching for exact values, `anything-but` and `prefix` (the subset used). */
function matches(pattern: Pattern, event: unknown): boolean {
  if (event === null || typeof event !== 'object') return false;
  const e = event as Record<string, unknown>;
  return Object.entries(pattern).every(([field, rule]) => {
    const value = e[field];
    if (Array.isArray(rule)) {
      if (value === undefined) return false;
      const values = Array.isArray(value) ? (value as unknown[]) : [value];
      return values.some((v) => rule.some((r) => matchOne(r, v)));
    }
    if (rule !== null && typeof rule === 'object') return matches(rule as Pattern, value);
    throw new Error(`unsupported pattern for ${field}`);
  });
}

function matchOne(rule: unknown, value: unknown): boolean {
  if (rule === null || typeof rule !== 'object') return rule === value;
  const r = rule as Record<string, unknown>;
  if ('anything-but' in r) {
    const but = r['anything-but'];
    return !(Array.isArray(but) ? but : [but]).includes(value);
  }
  if ('prefix' in r) return typeof value === 'string' && value.startsWith(String(r['prefix']));
  throw new Error(`unsupported pattern operator ${Object.keys(r).join(',')}`);
}

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

const cfn = json('config/aws-ecs-events/cloudformation.json') as { Resources: Record<string, Resource> };
const tf = json('config/aws-ecs-events/main.tf.json') as {
  resource: Record<string, Record<string, Record<string, unknown>>>;
};

const cfnPatterns = Object.values(cfn.Resources)
  .filter((r) => r.Type === 'AWS::Events::Rule')
  .map((r) => r.Properties['EventPattern'] as Pattern);
const tfPatterns = Object.values(tf.resource['aws_cloudwatch_event_rule'] ?? {}).map(
  (r) => JSON.parse(String(r['event_pattern'])) as Pattern,
);

describe('customer-side setup for pushed ECS events', () => {
  it('both templates define the same rules', () => {
    expect(cfnPatterns).toHaveLength(2);
    expect(tfPatterns).toEqual(cfnPatterns);
  });

  it.each([
    ['task-state-change-1.json', true],
    ['container-instance-state-change-1.json', true],
    ['deployment-completed-1.json', true],
    ['service-action-steady-state-1.json', false],
  ])('%s is delivered: %s', (name, delivered) => {
    expect(cfnPatterns.some((p) => matches(p, sample(name)))).toBe(delivered);
  });

  it('a service action other than steady state is delivered; other sources are not', () => {
    const action = sample('service-action-steady-state-1.json') as { detail: Record<string, unknown> };
    const placement = {
      ...action,
      detail: { ...action.detail, eventName: 'SERVICE_TASK_PLACEMENT_FAILURE' },
    };
    expect(cfnPatterns.some((p) => matches(p, placement))).toBe(true);
    const ec2 = { ...(sample('task-state-change-1.json') as object), source: 'aws.ec2' };
    expect(cfnPatterns.some((p) => matches(p, ec2))).toBe(false);
  });

  it('the matcher knows prefix and fails closed on what it does not know', () => {
    expect(matches({ source: [{ prefix: 'aws.' }] }, { source: 'aws.ecs' })).toBe(true);
    expect(matches({ source: [{ prefix: 'aws.' }] }, { source: 'custom' })).toBe(false);
    expect(() => matches({ source: [{ numeric: ['>', 1] }] }, { source: 2 })).toThrow();
  });

  it('the queue takes messages only from the two rules and redrives to a dead-letter queue', () => {
    const policy = Object.values(cfn.Resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy');
    const doc = policy?.Properties['PolicyDocument'] as { Statement: Array<Record<string, unknown>> };
    const send = doc.Statement.find((s) => s['Action'] === 'sqs:SendMessage');
    expect(send?.['Principal']).toEqual({ Service: 'events.amazonaws.com' });
    expect(send?.['Condition']).toEqual({
      ArnEquals: {
        'aws:SourceArn': [
          { 'Fn::GetAtt': ['StateChangeRule', 'Arn'] },
          { 'Fn::GetAtt': ['ServiceActionRule', 'Arn'] },
        ],
      },
    });
    expect(cfn.Resources['EventsQueue']?.Properties['RedrivePolicy']).toMatchObject({ maxReceiveCount: 5 });
    expect(String(tf.resource['aws_sqs_queue_policy']?.['events']?.['policy'])).toContain('aws:SourceArn');
    expect(String(tf.resource['aws_sqs_queue']?.['events']?.['redrive_policy'])).toContain(
      'aws_sqs_queue.dlq.arn',
    );
  });

  it('every SQS action the feed sends is in the reader policy', () => {
    const source = readFileSync(new URL('adapters/aws/sqs-feed.ts', root), 'utf8');
    const sent = [...source.matchAll(/new (\w+)Command\(/g)].map((m) => `sqs:${m[1]}`);
    expect(sent).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessageBatch']));
    const policy = json('config/iam/ecs-events-policy.json') as { Statement: Array<{ Action: string[] }> };
    const allowed = policy.Statement.flatMap((s) => s.Action);
    for (const action of sent) expect(allowed).toContain(action);
  });
});
