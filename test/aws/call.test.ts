import { describe, expect, it } from 'vitest';
import { AwsCallError, awsCallPolicy, callAws } from '../../adapters/aws/call.js';
import { CLOUDTRAIL_BUCKET } from '../../adapters/aws/limits.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { ThrottledError, deniedPermission } from '../../src/watch/source.js';
import { VirtualClock } from '../watch/virtual-clock.js';

class AwsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function setup() {
  const clock = new VirtualClock();
  const metrics = new CoreMetrics(new Registry());
  const buckets: string[] = [];
  const deps = {
    budget: { acquire: (bucket: string) => (buckets.push(bucket), Promise.resolve()) },
    metrics,
    scheduler: clock.scheduler,
  };
  const outcomes = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const v of (await metrics.apiCalls.get()).values)
      out[`${String(v.labels['provider'])}:${String(v.labels['operation'])}:${String(v.labels['outcome'])}`] =
        v.value;
    return out;
  };
  return { clock, deps, buckets, outcomes };
}

const policy = awsCallPolicy('LAMBDA', (op) => `lambda:${op}`);

describe('AWS call policy', () => {
  it('takes the provider bucket, or the CloudTrail one for LookupEvents, and counts SDK retries', async () => {
    const { deps, buckets, outcomes } = setup();
    await callAws(deps, policy, 'ListFunctions', () => Promise.resolve({ $metadata: { attempts: 3 } }));
    await callAws(deps, policy, 'LookupEvents', () => Promise.resolve({ $metadata: { attempts: 1 } }));
    expect(buckets).toEqual(['lambda:ListFunctions', CLOUDTRAIL_BUCKET]);
    expect(await outcomes()).toEqual({
      'LAMBDA:ListFunctions:ok': 1,
      'LAMBDA:ListFunctions:retried': 2,
      'LAMBDA:LookupEvents:ok': 1,
    });
  });

  it('an AWS error is an AwsCallError named after it, with secrets redacted', async () => {
    const { deps } = setup();
    const err = await callAws(deps, policy, 'GetFunction', () =>
      Promise.reject(new AwsError('ResourceNotFoundException', 'Function not found: secretAccessKey=abc123')),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect((err as AwsCallError).name).toBe('ResourceNotFoundException');
    expect((err as AwsCallError).operation).toBe('GetFunction');
    expect((err as Error).message).toMatch(
      /^GetFunction failed: ResourceNotFoundException: Function not found/,
    );
  });

  it('throttling is retried 3 times, 250 ms doubling, then surfaces as ThrottledError', async () => {
    const { clock, deps, outcomes } = setup();
    const times: number[] = [];
    let result: unknown;
    void callAws(deps, policy, 'ListFunctions', () => {
      times.push(clock.now());
      return Promise.reject(new AwsError('ThrottlingException', 'Rate exceeded'));
    }).catch((e: unknown) => (result = e));
    await clock.advance(5_000);
    expect(times).toEqual([0, 250, 750, 1_750]);
    expect(result).toBeInstanceOf(ThrottledError);
    expect(await outcomes()).toEqual({ 'LAMBDA:ListFunctions:throttled': 4 });
  });

  it('a refusal for a missing permission names the permission; other errors are not denials', async () => {
    const { deps } = setup();
    const ecs = awsCallPolicy('ECS', (op) => `ecs:${op}`);
    const fail = (operation: string, name: string, message: string) =>
      callAws(deps, ecs, operation, () => Promise.reject(new AwsError(name, message))).catch(
        (e: unknown) => e,
      );
    const real =
      'User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform: ecs:ListContainerInstances on resource: * because no identity-based policy allows the ecs:ListContainerInstances action';
    const cases: Array<[string, string, string, string | undefined]> = [
      ['ListClusters', 'AccessDeniedException', real, 'ecs:ListContainerInstances'],
      ['ListTasks', 'AccessDenied', 'Access Denied', 'ecs:ListTasks'],
      ['DescribeServices', 'UnauthorizedOperation', 'You are not authorized', 'ecs:DescribeServices'],
      ['LookupEvents', 'AccessDeniedException', 'no message', 'cloudtrail:LookupEvents'],
      [
        'ListServices',
        'ClientException',
        real.replaceAll('ListContainerInstances', 'ListServices'),
        'ecs:ListServices',
      ],
      ['DescribeTaskDefinition', 'ClientException', 'Unable to describe task definition.', undefined],
      ['ListTasks', 'ClusterNotFoundException', 'Cluster not found.', undefined],
    ];
    for (const [operation, name, message, permission] of cases) {
      const err = await fail(operation, name, message);
      expect(err, `${operation} ${name}`).toBeInstanceOf(AwsCallError);
      expect((err as AwsCallError).name).toBe(name);
      expect(deniedPermission(err), `${operation} ${name}`).toBe(permission);
    }
  });
});
