/**
 * Hostile or broken ECS API responses, at the wire: a loopback server answers every awsJson1_1
 * call with a body fast-check generates (arbitrary JSON, or the right field names holding the wrong
 * types), and the real SDK client with our sources reads it. Every call must resolve with
 * well-formed model objects or reject with an Error: never an uncaught exception, never garbage
 * passed on as a workload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import { clusterId } from '../../src/model/index.js';
import { ecsConfig, listAll, makeDeps } from './helpers.js';

let server: Server;
let endpoint = '';
const clusterArn = 'arn:aws:ecs:us-east-1:123456789012:cluster/c1';
const taskArn = 'arn:aws:ecs:us-east-1:123456789012:task/c1/0123456789abcdef0123456789abcdef';
/** Well-formed answers for the list calls, so the fuzzed Describe bodies reach normalization. */
const valid: Record<string, string> = {
  ListClusters: JSON.stringify({ clusterArns: [clusterArn] }),
  DescribeClusters: JSON.stringify({ clusters: [{ clusterArn, clusterName: 'c1', status: 'ACTIVE' }] }),
  ListServices: JSON.stringify({ serviceArns: [] }),
  ListTasks: JSON.stringify({ taskArns: [taskArn] }),
  ListContainerInstances: JSON.stringify({ containerInstanceArns: [] }),
  DescribeTaskDefinition: JSON.stringify({
    taskDefinition: {
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:1',
      containerDefinitions: [{ name: 'app', image: 'nginx:1.27' }],
    },
  }),
};
let fuzzed: { op: string; body: string } = { op: '', body: '{}' };

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const op =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      const body =
        op === fuzzed.op || (fuzzed.op === '*' && op.startsWith('Describe'))
          ? fuzzed.body
          : (valid[op] ?? '{}');
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const arn = fc.oneof(
  fc.constant('arn:aws:ecs:us-east-1:123456789012:task/c1/0123456789abcdef0123456789abcdef'),
  fc.constant('arn:aws:ecs:us-east-1:123456789012:cluster/c1'),
  fc.string(),
);
const wrongTyped = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.object({ maxDepth: 2 }),
  fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 3 }),
);
const container = fc.record(
  {
    name: fc.oneof(fc.string(), wrongTyped),
    image: fc.oneof(fc.constant('nginx:1.27'), fc.string(), wrongTyped),
    imageDigest: fc.oneof(fc.constant(`sha256:${'a'.repeat(64)}`), fc.string(), wrongTyped),
  },
  { requiredKeys: [] },
);
const task = fc.record(
  {
    taskArn: arn,
    clusterArn: arn,
    taskDefinitionArn: fc.oneof(arn, wrongTyped),
    group: fc.oneof(fc.constant('service:web'), fc.string(), wrongTyped),
    lastStatus: fc.oneof(fc.constantFrom('RUNNING', 'STOPPED', 'PENDING'), wrongTyped),
    version: fc.oneof(fc.integer(), wrongTyped),
    containers: fc.oneof(fc.array(container, { maxLength: 3 }), wrongTyped),
    tags: fc.oneof(
      fc.array(fc.record({ key: fc.string(), value: fc.string() }), { maxLength: 2 }),
      wrongTyped,
    ),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.record({ tasks: fc.array(task, { minLength: 1, maxLength: 3 }) }).map((o) => JSON.stringify(o)),
  fc.record({ tasks: fc.array(task, { minLength: 1, maxLength: 3 }) }).map((o) => JSON.stringify(o)),
  fc.json(),
  fc
    .record(
      {
        clusterArns: fc.oneof(fc.array(arn, { maxLength: 3 }), wrongTyped),
        nextToken: fc.oneof(fc.constant(undefined), fc.string(), wrongTyped),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc
    .record(
      {
        taskArns: fc.oneof(fc.array(arn, { maxLength: 3 }), wrongTyped),
        tasks: fc.oneof(fc.array(task, { maxLength: 3 }), wrongTyped),
        failures: fc.oneof(fc.array(fc.object(), { maxLength: 2 }), wrongTyped),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc
    .record(
      {
        clusters: fc.oneof(
          fc.array(
            fc.record(
              {
                clusterArn: arn,
                clusterName: fc.oneof(fc.string(), wrongTyped),
                status: fc.oneof(fc.string(), wrongTyped),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
          wrongTyped,
        ),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.string(),
);

function wellFormed(o: ClusterObject): boolean {
  switch (o.kind) {
    case 'cluster':
      return (
        typeof o.cluster.id === 'string' &&
        typeof o.cluster.remoteId === 'string' &&
        typeof o.cluster.name === 'string'
      );
    case 'workload':
      return (
        typeof o.workload.uid === 'string' &&
        typeof o.workload.name === 'string' &&
        Array.isArray(o.workload.containers) &&
        o.workload.containers.every(
          (c) =>
            typeof c.name === 'string' &&
            typeof c.image.reference === 'string' &&
            (c.image.digest === undefined || /^sha256:[a-f0-9]{64}$/.test(c.image.digest)),
        )
      );
    case 'node':
      return typeof o.node.id === 'string';
    case 'namespace':
      return typeof o.namespace.name === 'string';
  }
}

describe('ECS sources against fuzzed API responses (real SDK client, loopback)', () => {
  it('resolve with well-formed objects or reject with an Error, never crash', async () => {
    const deps = makeDeps({ budgetFraction: 1000 });
    let resolved = 0;
    let rejected = 0;
    let itemsSeen = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '*',
          'DescribeTasks',
          'DescribeTasks',
          'ListTasks',
          'ListClusters',
          'DescribeClusters',
          'DescribeTaskDefinition',
        ),
        body,
        fc.nat(3),
        async (op, b, i) => {
          fuzzed = { op, body: b };
          // A fresh adapter per case: a fuzzed cluster directory must not starve the cases after it.
          const adapter = createEcsAdapter(ecsConfig(endpoint), deps, { maxAttempts: 1 });
          try {
            const source = (await adapter.sources())[i];
            if (!source) return;
            const outcomes = await Promise.allSettled([
              listAll(source),
              source.getMany
                ? source.getMany([`workload/${clusterId('ECS', clusterArn)}/${taskArn}`])
                : Promise.resolve(new Map()),
            ]);
            for (const o of outcomes) {
              if (o.status === 'rejected') {
                rejected += 1;
                expect(o.reason).toBeInstanceOf(Error);
                continue;
              }
              resolved += 1;
              const items =
                o.value instanceof Map
                  ? [...o.value.values()].filter((v): v is ClusterObject => v !== undefined)
                  : o.value.items;
              itemsSeen += items.length;
              for (const item of items) expect(wellFormed(item), JSON.stringify(item)).toBe(true);
            }
          } finally {
            await adapter.close();
          }
        },
      ),
      { numRuns: 400 },
    );
    process.stderr.write(`fuzz: ${resolved} resolved, ${rejected} rejected, ${itemsSeen} items checked\n`);
    expect(itemsSeen).toBeGreaterThan(50);
  }, 120_000);
});
