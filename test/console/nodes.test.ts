/**
 * `sightline nodes list`: the table (kubectl get nodes' columns for ECS container instances), its
 * wide and JSON forms, and the whole path: nodes as the ECS normalizer makes them, pushed over the
 * real AgentService to the reference console, read back through ConsoleQuery.ListNodes with the
 * live tasks placed on each counted by the console.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { ContainerInstance } from '@aws-sdk/client-ecs';
import { nodesJson, renderNodesTable } from '../../src/console/views.js';
import { displayWidth } from '../../src/console/table.js';
import { nodesListCommand } from '../../src/console/commands.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { serviceDefinitions } from '../../src/console/proto.js';
import { unaryCall } from '../../src/console/channel.js';
import { toNodeSighting, toRegistration, toWorkloadSighting } from '../../src/console/wire-mapping.js';
import type { NodeView, Sighting } from '../../src/console/wire-types.js';
import type { Node, Workload } from '../../src/model/index.js';
import { normalizeContainerInstance } from '../../adapters/ecs/normalizer.js';
import { makeCluster, makeWorkload, tempDir, writeToken } from './helpers.js';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const HOUR_MS = 3_600_000;

function nodeView(
  over: Partial<NodeView> & { metadata?: Record<string, string>; name?: string } = {},
): NodeView {
  const { metadata, name, ...rest } = over;
  return {
    cluster_id: 'cid-1',
    cluster_name: 'prod',
    node: {
      cluster_id: 'cid-1',
      id: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123abcd',
      name: name ?? 'i-0123456789abcdef0',
      metadata: metadata ?? {
        status: 'ACTIVE',
        instanceType: 'm5.large',
        availabilityZone: 'us-east-1a',
        capacityProvider: 'asg-cp',
        agentVersion: '1.86.0',
        osType: 'linux',
        ec2InstanceId: 'i-0123456789abcdef0',
      },
      first_seen_ms: NOW - 3 * 24 * HOUR_MS,
      last_seen_ms: NOW - 20_000,
    },
    running_tasks: 4,
    tasks: 5,
    ...rest,
  };
}

describe('nodes table', () => {
  it('shows CLUSTER, NAME, STATUS, INSTANCE TYPE, RUNNING TASKS, AGE, LAST SEEN; "-" for what is unknown', () => {
    const out = renderNodesTable(
      [nodeView(), nodeView({ cluster_name: 'stage', name: '', metadata: {}, running_tasks: 0 })],
      NOW,
    );
    expect(out).toBe(
      [
        'CLUSTER  NAME                 STATUS  INSTANCE TYPE  RUNNING TASKS  AGE  LAST SEEN',
        'prod     i-0123456789abcdef0  ACTIVE  m5.large       4              3d   20s',
        'stage    -                    -       -              0              3d   20s',
        '',
      ].join('\n'),
    );
  });

  it('-o wide adds ZONE, CAPACITY PROVIDER, AGENT VERSION, OS and the full ARN', () => {
    const [header, row] = renderNodesTable([nodeView()], NOW, { wide: true, maxWidth: 40 }).split('\n');
    expect(header).toMatch(/LAST SEEN\s+ZONE\s+CAPACITY PROVIDER\s+AGENT VERSION\s+OS\s+ID$/);
    expect(row).toMatch(
      /20s\s+us-east-1a\s+asg-cp\s+1\.86\.0\s+linux\s+arn:aws:ecs:us-east-1:123456789012:container-instance\/prod\/0123abcd$/,
    );
  });

  it('fits the width it is given and neutralises control characters from the console', () => {
    const evil = nodeView({ cluster_name: `prod\u001b[2J${'x'.repeat(60)}`, name: 'i-1\r\nforged row' });
    for (const width of [60, 80, 120]) {
      const lines = renderNodesTable([evil, nodeView()], NOW, { maxWidth: width }).trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      for (const l of lines) {
        expect(displayWidth(l), `${width}: ${l}`).toBeLessThanOrEqual(width);
        // eslint-disable-next-line no-control-regex
        expect(l).not.toMatch(/[\u0000-\u001f]/);
      }
    }
  });

  it('gives camelCase JSON with the well-known metadata lifted, every task count, ISO times', () => {
    expect(nodesJson([nodeView({ metadata: { status: 'DRAINING' } })])).toEqual([
      {
        cluster: 'cid-1',
        clusterName: 'prod',
        id: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123abcd',
        name: 'i-0123456789abcdef0',
        status: 'DRAINING',
        runningTasks: 4,
        tasks: 5,
        metadata: { status: 'DRAINING' },
        firstSeen: new Date(NOW - 3 * 24 * HOUR_MS).toISOString(),
        lastSeen: new Date(NOW - 20_000).toISOString(),
      },
    ]);
  });
});

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        buf += chunk.toString('utf8');
        cb();
      },
    }),
    text: () => buf,
  };
}

function instance(cluster: string, n: number, status: string, type: string): ContainerInstance {
  return {
    containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/${cluster}/ci${n}`,
    ec2InstanceId: `i-0000000000000000${n}`,
    status,
    capacityProviderName: 'asg-cp',
    versionInfo: { agentVersion: '1.86.0' },
    attributes: [
      { name: 'ecs.instance-type', value: type },
      { name: 'ecs.availability-zone', value: 'us-east-1b' },
      { name: 'ecs.os-type', value: 'linux' },
    ],
  };
}

describe('nodes list against the reference console', () => {
  const TOKEN = 'nodes-token-0123456789';
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function world(): Promise<{ console_: ReferenceConsole; tokenFile: string; now: number }> {
    const t = tempDir('sl-nodes-');
    const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: ':memory:', token: TOKEN });
    cleanups.push(async () => {
      await console_.stop();
      t.cleanup();
    });
    const now = Date.now();
    const c1 = makeCluster(1, { name: 'prod' });
    const c2 = makeCluster(2, { name: 'stage' });
    const run = makeCluster(3, { name: 'europe-west1', provider: 'CLOUD_RUN' });
    const client = new grpc.Client(console_.address, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    const defs = serviceDefinitions().agent;
    const call = async (method: string, request: unknown): Promise<void> => {
      const def = defs[method];
      if (def === undefined) throw new Error(method);
      await unaryCall(client, def, request, TOKEN, 5_000);
    };
    await call('RegisterClusters', {
      batch_id: 'reg',
      clusters: [c1, c2, run].map((c) => toRegistration(c, now - 30_000)),
    });
    const node = (clusterArn: string, ci: ContainerInstance): Node => {
      const o = normalizeContainerInstance(clusterArn, ci);
      if (o.kind !== 'node') throw new Error('not a node');
      return o.node;
    };
    const seen = { firstSeenMs: now - 2 * HOUR_MS, lastSeenMs: now - 60_000 };
    const nodes = [
      node(c1.remoteId, instance('c1', 1, 'ACTIVE', 'm5.large')),
      node(c1.remoteId, instance('c1', 2, 'DRAINING', 'c6g.xlarge')),
      node(c2.remoteId, instance('c2', 3, 'ACTIVE', 't3.small')),
    ];
    const task = (n: number, nodeIdx: number, status: string): Workload =>
      makeWorkload(nodeIdx === 2 ? c2 : c1, n, n, { nodeId: nodes[nodeIdx]?.id ?? '', status });
    const tasks = [
      task(1, 0, 'RUNNING'),
      task(2, 0, 'RUNNING'),
      task(3, 0, 'PENDING'),
      task(4, 0, 'RUNNING'), // deleted below
      task(5, 2, 'RUNNING'),
      makeWorkload(c1, 6), // Fargate: no node
    ];
    const sightings: Sighting[] = [
      ...nodes.map((n) => ({ node: toNodeSighting(n, seen) })),
      ...tasks.map((w) => ({ workload: toWorkloadSighting(w, seen, () => seen) })),
      {
        deletion: {
          cluster_id: c1.id,
          type: 'WORKLOAD' as const,
          id: 'task-4',
          tombstone: false,
          deleted_ms: now - 45_000,
        },
      },
    ];
    await call('ReportSightings', { batch_id: 'b1', sightings });
    return { console_, tokenFile: writeToken(t.dir, TOKEN), now };
  }

  it('lists every node with its running tasks counted by the console; filters by cluster; json and table agree', async () => {
    const { console_, tokenFile, now } = await world();
    const list = async (
      output: 'json' | 'table' | 'wide',
      cluster?: string,
    ): Promise<{ code: number; out: string; err: string }> => {
      const out = sink();
      const err = sink();
      const code = await nodesListCommand({
        console: console_.address,
        tokenFile,
        plaintext: true,
        output,
        ...(cluster !== undefined ? { cluster } : {}),
        stdout: out.stream,
        stderr: err.stream,
        nowMs: () => now,
        maxWidth: 200,
      });
      return { code, out: out.text(), err: err.text() };
    };

    const json = await list('json');
    expect(json.code, json.err).toBe(0);
    const rows = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(
      rows.map((r) => [
        r['clusterName'],
        r['name'],
        r['status'],
        r['instanceType'],
        r['runningTasks'],
        r['tasks'],
      ]),
    ).toEqual([
      ['prod', 'i-00000000000000001', 'ACTIVE', 'm5.large', 2, 3],
      ['prod', 'i-00000000000000002', 'DRAINING', 'c6g.xlarge', 0, 0],
      ['stage', 'i-00000000000000003', 'ACTIVE', 't3.small', 1, 1],
    ]);
    // A node still listed is seen whenever its cluster is: LAST SEEN is the cluster's (30 s), not 60 s.
    expect(rows[0]?.['lastSeen']).toBe(new Date(now - 30_000).toISOString());
    expect(rows[0]?.['firstSeen']).toBe(new Date(now - 2 * HOUR_MS).toISOString());

    const table = await list('table');
    expect(table.out.split('\n').slice(0, 4)).toEqual([
      'CLUSTER  NAME                 STATUS    INSTANCE TYPE  RUNNING TASKS  AGE  LAST SEEN',
      'prod     i-00000000000000001  ACTIVE    m5.large       2              2h   30s',
      'prod     i-00000000000000002  DRAINING  c6g.xlarge     0              2h   30s',
      'stage    i-00000000000000003  ACTIVE    t3.small       1              2h   30s',
    ]);

    const stage = await list('wide', 'stage');
    expect(stage.out.trimEnd().split('\n')).toHaveLength(2);
    expect(stage.out).toMatch(/stage .*us-east-1b\s+asg-cp\s+1\.86\.0\s+linux\s+arn:aws:ecs:.*\/c2\/ci3\n$/);
    const byId = await list('json', makeCluster(1).id);
    expect((JSON.parse(byId.out) as unknown[]).length).toBe(2);
    const none = await list('json', 'europe-west1');
    expect(JSON.parse(none.out)).toEqual([]);
  });

  it('reports a wrong token with exit 1 and never prints it', async () => {
    const { console_ } = await world();
    const err = sink();
    const code = await nodesListCommand({
      console: console_.address,
      token: 'wrong-token-abcdef',
      plaintext: true,
      output: 'table',
      stdout: sink().stream,
      stderr: err.stream,
    });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/console UNAUTHENTICATED/);
    expect(err.text()).not.toContain('wrong-token-abcdef');
  });
});
