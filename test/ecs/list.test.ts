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

  it('getMany batches Describe calls at the AWS limits (tasks 100, services 10) and answers stopped tasks as gone', async () => {
    emu = await startEcsEmulator();
    const f = emu.fleet;
    f.generate({
      clusters: 1,
      servicesPerCluster: 25,
      tasksPerService: 6,
      taskDefinitions: 5,
      containerInstancesPerCluster: 0,
    });
    const td = f.findTaskDefinition(REGION, 'app-0');
    const [early] = f.runTask({ cluster: 'cluster-0', taskDefinition: td?.arn ?? '' });
    f.stopTask({ cluster: 'cluster-0', task: early?.arn ?? '' }); // stopped before we start: listed once, as STOPPED
    const deps = makeDeps();
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), deps);
    const [r] = adapter.regions();
    if (!r || !early) throw new Error('setup');
    const tasks = await listAll(r.tasks);
    const stopped = workloads(tasks.items).find((w) => w.uid === early.arn);
    expect(stopped?.status).toBe('STOPPED');
    const services = await listAll(r.services);
    emu.calls.reset();
    const taskKeys = tasks.items.map((o) => r.tasks.keyOf(o));
    const got = await r.tasks.getMany(taskKeys);
    expect(emu.calls.get('DescribeTasks')).toBe(2); // 150 running tasks: 100 + 50; the stopped one costs nothing
    expect([...got.values()].filter((o) => o !== undefined)).toHaveLength(150);
    expect(
      got.get(
        r.tasks.keyOf(
          tasks.items.find((o) => o.kind === 'workload' && o.workload.uid === early.arn) as never,
        ),
      ),
    ).toBeUndefined();
    const serviceKeys = services.items
      .filter((o) => o.kind === 'workload' && o.workload.kind === 'Deployment')
      .map((o) => r.services.keyOf(o));
    const svc = await r.services.getMany(serviceKeys);
    expect(emu.calls.get('DescribeServices')).toBe(3); // 25 services: 10 + 10 + 5
    expect([...svc.values()].every((o) => o !== undefined)).toBe(true);
    expect(emu.calls.get('DescribeTaskDefinition')).toBe(0); // cached since the list
  });

  it('watches every configured region with its own sources; each lists only its region', async () => {
    emu = await startEcsEmulator();
    emu.fleet.createCluster({ name: 'east' });
    emu.fleet.createCluster({ name: 'west', region: 'eu-west-1' });
    adapter = createEcsAdapter(ecsConfig(emu.endpoint, { regions: ['us-east-1', 'eu-west-1'] }), makeDeps());
    const sources = await adapter.sources();
    expect(sources.map((s) => s.id)).toEqual([
      `ecs/${ACCOUNT}/us-east-1/clusters`,
      `ecs/${ACCOUNT}/us-east-1/services`,
      `ecs/${ACCOUNT}/us-east-1/tasks`,
      `ecs/${ACCOUNT}/us-east-1/nodes`,
      `ecs/${ACCOUNT}/eu-west-1/clusters`,
      `ecs/${ACCOUNT}/eu-west-1/services`,
      `ecs/${ACCOUNT}/eu-west-1/tasks`,
      `ecs/${ACCOUNT}/eu-west-1/nodes`,
    ]);
    const names = async (i: number): Promise<string[]> => {
      const source = sources[i];
      if (!source) throw new Error(`no source ${i}`);
      return (await listAll(source)).items.flatMap((o) =>
        o.kind === 'cluster' ? [`${o.cluster.region}/${o.cluster.name}`] : [],
      );
    };
    expect(await names(0)).toEqual(['us-east-1/east']);
    expect(await names(4)).toEqual(['eu-west-1/west']);
  });
});
