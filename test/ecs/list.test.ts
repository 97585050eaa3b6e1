import { afterEach, describe, expect, it } from 'vitest';
import { clusterId } from '../../src/model/index.js';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { EcsAdapter } from '../../adapters/ecs/index.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { ACCOUNT, REGION, apiCalls, ecsConfig, listAll, makeDeps, workloads } from './helpers.js';

let emu: EcsEmulator | undefined;
let adapter: EcsAdapter | undefined;

afterEach(async () => {
  await adapter?.close();
  await emu?.stop();
  adapter = undefined;
  emu = undefined;
});

describe('ECS initial list', () => {
  it('lists 5 clusters, 50 services and 1,000 tasks with exactly the minimum number of calls', async () => {
    emu = await startEcsEmulator();
    const shape = {
      clusters: 5,
      servicesPerCluster: 10,
      tasksPerService: 20,
      taskDefinitions: 20,
      containerInstancesPerCluster: 4,
    };
    emu.fleet.generate(shape);
    const deps = makeDeps();
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps);
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    const [clusters, services, tasks, nodes] = await Promise.all([
      listAll(r.clusters),
      listAll(r.services),
      listAll(r.tasks),
      listAll(r.nodes),
    ]);

    const tasksPerCluster = shape.servicesPerCluster * shape.tasksPerService;
    const expected: Record<string, number> = {
      ListClusters: 1,
      DescribeClusters: 1,
      ListServices: shape.clusters,
      DescribeServices: shape.clusters * Math.ceil(shape.servicesPerCluster / 10),
      DescribeTaskDefinition: shape.taskDefinitions,
      // RUNNING pages of 100, plus one (empty) STOPPED page per cluster on the first list.
      ListTasks: shape.clusters * (Math.ceil(tasksPerCluster / 100) + 1),
      DescribeTasks: shape.clusters * Math.ceil(tasksPerCluster / 100),
      ListContainerInstances: shape.clusters,
      DescribeContainerInstances: shape.clusters,
    };
    expect(emu.calls.byAction()).toEqual(expected);
    expect(emu.calls.get('ListTagsForResource')).toBe(0);
    expect(await apiCalls(deps, { outcome: 'ok' })).toBe(Object.values(expected).reduce((a, b) => a + b, 0));

    expect(clusters.items.filter((o) => o.kind === 'cluster')).toHaveLength(5);
    expect(clusters.items.filter((o) => o.kind === 'namespace')).toHaveLength(5);
    const svc = workloads(services.items);
    expect(svc.filter((w) => w.kind === 'Deployment')).toHaveLength(50);
    expect(svc.filter((w) => w.kind === 'ReplicaSet')).toHaveLength(50);
    const pods = workloads(tasks.items);
    expect(pods).toHaveLength(1000);
    expect(nodes.items).toHaveLength(20);
    // Each listing source hands out a cursor on its first page.
    expect(clusters.cursor).toBeDefined();
    expect(tasks.cursor).toBeDefined();
  });

  it('normalizes cluster, namespace, service, deployment, task and node as documented', async () => {
    emu = await startEcsEmulator();
    const f = emu.fleet;
    f.createCluster({ name: 'prod', tags: { team: 'payments', 'policy.sigstore.dev/include': 'true' } });
    const ci = f.registerContainerInstance({
      cluster: 'prod',
      instanceType: 'c7g.xlarge',
      agentVersion: '1.82.1',
    });
    const td = f.registerTaskDefinition({
      family: 'web',
      containers: [
        { name: 'web', image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/web:2.1` },
        { name: 'proxy', image: 'docker.io/library/nginx:1.27' },
      ],
    });
    f.setImageDigest('docker.io/library/nginx:1.27', null);
    const svc = f.createService({
      cluster: 'prod',
      name: 'web',
      taskDefinition: td.arn,
      desiredCount: 2,
      tags: { owner: 'a' },
    });
    const [standalone] = f.runTask({
      cluster: 'prod',
      taskDefinition: td.arn,
      launchType: 'FARGATE',
      tags: { job: 'x' },
    });
    const deps = makeDeps();
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps);
    const [r] = adapter.regions();
    if (!r || !standalone) throw new Error('setup');

    const clusterArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
    const cid = clusterId('ECS', clusterArn);
    const { items: cl } = await listAll(r.clusters);
    const cluster = cl.find((o) => o.kind === 'cluster');
    const ns = cl.find((o) => o.kind === 'namespace');
    expect(cluster).toMatchObject({
      kind: 'cluster',
      cluster: {
        id: cid,
        provider: 'ECS',
        remoteId: clusterArn,
        name: 'prod',
        region: REGION,
        account: ACCOUNT,
        group: 'acme-security',
        issuer: 'https://issuer.example.com',
        agentVersion: '0.1.0-test',
        labels: { team: 'payments' },
        metadata: { status: 'ACTIVE', capacityProviders: 'FARGATE,FARGATE_SPOT' },
      },
    });
    expect(ns).toMatchObject({
      kind: 'namespace',
      namespace: { clusterId: cid, name: 'prod', enforcement: true },
    });

    const { items: sv } = await listAll(r.services);
    const [deployment, replicaSet] = workloads(sv);
    expect(deployment).toMatchObject({
      kind: 'Deployment',
      uid: svc.arn,
      namespace: 'prod',
      name: 'web',
      labels: { owner: 'a' },
    });
    expect(deployment?.containers.map((c) => c.image.tag)).toEqual(['2.1', '1.27']);
    const dep = svc.deployments[0];
    expect(replicaSet).toMatchObject({
      kind: 'ReplicaSet',
      uid: `${svc.arn}#${dep?.id ?? ''}`,
      owners: [{ kind: 'Deployment', name: 'web', uid: svc.arn }],
    });
    expect(r.services.orderOf(sv[0] as never)).toBe(Math.floor(dep?.updatedAtMs ?? 0));

    const { items: tk } = await listAll(r.tasks);
    const pods = workloads(tk);
    const servicePod = pods.find((p) => p.owners.length > 0);
    const standalonePod = pods.find((p) => p.uid === standalone.arn);
    expect(servicePod).toMatchObject({
      kind: 'Pod',
      nativeKind: 'ecs.amazonaws.com/Task',
      namespace: 'prod',
      nodeId: ci.arn,
      owners: [
        { kind: 'ReplicaSet', uid: `${svc.arn}#${dep?.id ?? ''}` },
        { kind: 'Deployment', name: 'web', uid: svc.arn },
      ],
      status: 'RUNNING',
    });
    const web = servicePod?.containers.find((c) => c.name === 'web');
    expect(web?.image.digest).toBe(f.digestOf(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/web:2.1`));
    expect(web?.image.tag).toBe('2.1');
    // No digest reported: unresolved with a reason, never invented; counted once per task and container.
    const proxy = servicePod?.containers.find((c) => c.name === 'proxy');
    expect(proxy?.image.digest).toBeUndefined();
    expect(proxy?.image.unresolved?.reason).toBe('not-reported-by-provider');
    const unresolved = await deps.metrics.unresolvedDigests.get();
    expect(unresolved.values.reduce((a, v) => a + v.value, 0)).toBe(3);
    expect(standalonePod).toMatchObject({ owners: [], labels: { job: 'x' } });
    expect(standalonePod?.nodeId).toBeUndefined();
    const task = [...f.clustersIn(REGION)][0]?.tasks.get(standalone.arn);
    expect(
      r.tasks.orderOf(tk.find((o) => o.kind === 'workload' && o.workload.uid === standalone.arn) as never),
    ).toBe(task?.version);

    const { items: nd } = await listAll(r.nodes);
    expect(nd[0]).toMatchObject({
      kind: 'node',
      node: {
        clusterId: cid,
        id: ci.arn,
        name: ci.ec2InstanceId,
        metadata: {
          ec2InstanceId: ci.ec2InstanceId,
          instanceType: 'c7g.xlarge',
          amiId: ci.amiId,
          availabilityZone: ci.availabilityZone,
          osType: 'linux',
          agentVersion: '1.82.1',
          dockerVersion: ci.dockerVersion,
        },
      },
    });
  });

  it('recovers the tag from the task definition when the agent (>= 1.83) reports only the digest', async () => {
    emu = await startEcsEmulator();
    const f = emu.fleet;
    f.createCluster({ name: 'c' });
    f.registerContainerInstance({ cluster: 'c', agentVersion: '1.83.0' });
    const image = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/api:7.0`;
    const td = f.registerTaskDefinition({ family: 'api', containers: [{ name: 'api', image }] });
    const [t] = f.runTask({ cluster: 'c', taskDefinition: td.arn, launchType: 'EC2' });
    expect(t?.containers[0]?.image).toContain('@sha256:');
    const deps = makeDeps();
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps);
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    const pods = workloads((await listAll(r.tasks)).items);
    expect(pods[0]?.containers[0]?.image).toMatchObject({
      reference: image,
      tag: '7.0',
      digest: f.digestOf(image),
    });
    // The task definition is described once ever: the persisted cache answers the next adapter.
    const again = createEcsAdapter(ecsConfig(emu.endpoint), { ...deps });
    const [r2] = again.regions();
    if (!r2) throw new Error('no region');
    emu.calls.reset();
    await listAll(r2.tasks);
    expect(emu.calls.get('DescribeTaskDefinition')).toBe(0);
    await again.close();
  });
});
