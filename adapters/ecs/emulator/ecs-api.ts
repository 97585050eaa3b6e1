/**
 * The ECS read actions of the emulator, in AWS's awsJson1_1 wire shapes (camelCase members,
 * timestamps as epoch seconds). Enforces AWS's batch limits (InvalidParameterException past 100 / 10
 * ARNs), list maxResults 1-100 (ListServices defaults to 10), opaque NextTokens, `include: ["TAGS"]`
 * and `failures[]` for unknown ARNs. Unknown clusters give ClusterNotFoundException.
 */
import { AwsApiError } from '../../aws/emulator/api-error.js';
import type { EmuCluster, EmuContainerInstance, EmuService, EmuTask, Fleet, Tag } from './fleet.js';

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

const sec = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

function str(input: Input, key: string): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AwsApiError('InvalidParameterException', `${key} must be a string.`);
  return v;
}

function strList(input: Input, key: string): string[] {
  const v = input[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new AwsApiError('InvalidParameterException', `${key} must be a list of strings.`);
  return v as string[];
}

function wantsTags(input: Input): boolean {
  return strList(input, 'include').includes('TAGS');
}

function maxResults(input: Input, fallback: number): number {
  const v = input['maxResults'];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100)
    throw new AwsApiError('InvalidParameterException', 'maxResults must be between 1 and 100.');
  return v;
}

function checkBatch(list: string[], key: string, limit: number): void {
  if (list.length === 0) throw new AwsApiError('InvalidParameterException', `${key} can not be empty.`);
  if (list.length > limit)
    throw new AwsApiError('InvalidParameterException', `${key} can have at most ${limit} items.`);
}

/** Token = base64 of the last ARN returned; lists are sorted by ARN so pages are stable. */
function paginate(arns: string[], input: Input, fallbackMax: number): Output {
  const max = maxResults(input, fallbackMax);
  const token = str(input, 'nextToken');
  let after: string | undefined;
  if (token !== undefined) {
    try {
      const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after?: unknown };
      if (typeof decoded.after !== 'string') throw new Error('bad');
      after = decoded.after;
    } catch {
      throw new AwsApiError('InvalidParameterException', 'Invalid nextToken.');
    }
  }
  const sorted = [...arns].sort();
  const start = after === undefined ? 0 : sorted.findIndex((a) => a > after);
  const page = start < 0 ? [] : sorted.slice(start, start + max);
  const out: Output = { arns: page };
  const last = page[page.length - 1];
  if (start >= 0 && start + max < sorted.length && last !== undefined) {
    out['nextToken'] = Buffer.from(JSON.stringify({ after: last })).toString('base64');
  }
  return out;
}

function mustCluster(fleet: Fleet, region: string, input: Input): EmuCluster {
  const c = fleet.findCluster(region, str(input, 'cluster'));
  if (!c || c.status !== 'ACTIVE') throw new AwsApiError('ClusterNotFoundException', 'Cluster not found.');
  return c;
}

function tagsOut(tags: Tag[]): Array<{ key: string; value: string }> {
  return tags.map((t) => ({ key: t.key, value: t.value }));
}

function clusterOut(c: EmuCluster, tags: boolean): Output {
  const running = [...c.tasks.values()].filter((t) => t.lastStatus === 'RUNNING').length;
  const out: Output = {
    clusterArn: c.arn,
    clusterName: c.name,
    status: c.status,
    registeredContainerInstancesCount: c.containerInstances.size,
    runningTasksCount: running,
    pendingTasksCount: 0,
    activeServicesCount: [...c.services.values()].filter((s) => s.status === 'ACTIVE').length,
    statistics: [],
    settings: [{ name: 'containerInsights', value: c.containerInsights }],
    capacityProviders: c.capacityProviders,
    defaultCapacityProviderStrategy: c.capacityProviders
      .slice(0, 1)
      .map((p) => ({ capacityProvider: p, weight: 1, base: 0 })),
  };
  if (tags) out['tags'] = tagsOut(c.tags);
  return out;
}

function serviceOut(c: EmuCluster, s: EmuService, tags: boolean): Output {
  const running = [...c.tasks.values()].filter(
    (t) => t.group === `service:${s.name}` && t.lastStatus === 'RUNNING',
  );
  const out: Output = {
    serviceArn: s.arn,
    serviceName: s.name,
    clusterArn: c.arn,
    status: s.status,
    desiredCount: s.desiredCount,
    runningCount: running.length,
    pendingCount: 0,
    launchType: s.launchType,
    taskDefinition: s.taskDefinition,
    deploymentController: { type: 'ECS' },
    schedulingStrategy: 'REPLICA',
    createdAt: sec(s.createdAtMs),
    deployments: s.deployments.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      desiredCount: d.desiredCount,
      runningCount: running.filter((t) => t.startedBy === d.id).length,
      pendingCount: 0,
      launchType: s.launchType,
      createdAt: sec(d.createdAtMs),
      updatedAt: sec(d.updatedAtMs),
      rolloutState: d.rolloutState,
    })),
    events: [],
  };
  if (tags) out['tags'] = tagsOut(s.tags);
  return out;
}

export function taskOut(t: EmuTask, tags: boolean): Output {
  const out: Output = {
    taskArn: t.arn,
    clusterArn: t.clusterArn,
    taskDefinitionArn: t.taskDefinitionArn,
    group: t.group,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    version: t.version,
    launchType: t.launchType,
    availabilityZone: t.availabilityZone,
    createdAt: sec(t.createdAtMs),
    startedAt: sec(t.startedAtMs),
    stoppedAt: sec(t.stoppedAtMs),
    stoppedReason: t.stoppedReason,
    startedBy: t.startedBy,
    containerInstanceArn: t.containerInstanceArn,
    platformVersion: t.platformVersion,
    cpu: '256',
    memory: '512',
    containers: t.containers.map((c) => ({
      containerArn: c.containerArn,
      taskArn: t.arn,
      name: c.name,
      image: c.image,
      imageDigest: c.imageDigest,
      runtimeId: c.runtimeId,
      lastStatus: c.lastStatus,
    })),
  };
  if (tags) out['tags'] = tagsOut(t.tags);
  return out;
}

export function containerInstanceOut(ci: EmuContainerInstance, tags: boolean): Output {
  const out: Output = {
    containerInstanceArn: ci.arn,
    ec2InstanceId: ci.ec2InstanceId,
    status: ci.status,
    agentConnected: true,
    version: ci.version,
    versionInfo: { agentVersion: ci.agentVersion, agentHash: 'abc1234', dockerVersion: ci.dockerVersion },
    registeredAt: sec(ci.registeredAtMs),
    attributes: [
      { name: 'ecs.ami-id', value: ci.amiId },
      { name: 'ecs.instance-type', value: ci.instanceType },
      { name: 'ecs.availability-zone', value: ci.availabilityZone },
      { name: 'ecs.os-type', value: ci.osType },
    ],
    runningTasksCount: 0,
    pendingTasksCount: 0,
  };
  if (tags) out['tags'] = tagsOut(ci.tags);
  return out;
}

function lookupService(c: EmuCluster, ref: string): EmuService | undefined {
  if (ref.startsWith('arn:')) {
    for (const s of c.services.values()) if (s.arn === ref) return s;
    return undefined;
  }
  return c.services.get(ref);
}

export type EcsHandler = (fleet: Fleet, region: string, input: Input) => Output;

export const ECS_HANDLERS: Record<string, EcsHandler> = {
  ListClusters(fleet, region, input) {
    const arns = fleet
      .clustersIn(region)
      .filter((c) => c.status === 'ACTIVE')
      .map((c) => c.arn);
    const page = paginate(arns, input, 100);
    return { clusterArns: page['arns'], nextToken: page['nextToken'] };
  },

  DescribeClusters(fleet, region, input) {
    const refs = strList(input, 'clusters');
    if (refs.length === 0) refs.push('default');
    checkBatch(refs, 'clusters', 100);
    const clusters: Output[] = [];
    const failures: Output[] = [];
    for (const r of refs) {
      const c = fleet.findCluster(region, r);
      if (c) clusters.push(clusterOut(c, wantsTags(input)));
      else
        failures.push({
          arn: r.startsWith('arn:') ? r : fleet.arn(region, `cluster/${r}`),
          reason: 'MISSING',
        });
    }
    return { clusters, failures };
  },

  ListServices(fleet, region, input) {
    const c = mustCluster(fleet, region, input);
    const arns = [...c.services.values()].filter((s) => s.status === 'ACTIVE').map((s) => s.arn);
    const page = paginate(arns, input, 10);
    return { serviceArns: page['arns'], nextToken: page['nextToken'] };
  },

  DescribeServices(fleet, region, input) {
    const c = mustCluster(fleet, region, input);
    const refs = strList(input, 'services');
    checkBatch(refs, 'services', 10);
    const services: Output[] = [];
    const failures: Output[] = [];
    for (const r of refs) {
      const s = lookupService(c, r);
      if (s) services.push(serviceOut(c, s, wantsTags(input)));
      else failures.push({ arn: r, reason: 'MISSING' });
    }
    return { services, failures };
  },

  ListTasks(fleet, region, input) {
    const c = mustCluster(fleet, region, input);
    fleet.expireStoppedTasks();
    const desired = str(input, 'desiredStatus') ?? 'RUNNING';
    const serviceName = str(input, 'serviceName');
    const family = str(input, 'family');
    const startedBy = str(input, 'startedBy');
    const containerInstance = str(input, 'containerInstance');
    const arns = [...c.tasks.values()]
      .filter((t) => t.desiredStatus === desired)
      .filter((t) => serviceName === undefined || t.group === `service:${serviceName}`)
      .filter((t) => family === undefined || t.taskDefinitionArn.includes(`/${family}:`))
      .filter((t) => startedBy === undefined || t.startedBy === startedBy)
      .filter((t) => containerInstance === undefined || t.containerInstanceArn === containerInstance)
      .map((t) => t.arn);
    const page = paginate(arns, input, 100);
    return { taskArns: page['arns'], nextToken: page['nextToken'] };
  },

  DescribeTasks(fleet, region, input) {
    const c = mustCluster(fleet, region, input);
    fleet.expireStoppedTasks();
    const refs = strList(input, 'tasks');
    checkBatch(refs, 'tasks', 100);
    const tasks: Output[] = [];
    const failures: Output[] = [];
    for (const r of refs) {
      const t = fleet.findTask(c, r);
      if (t) tasks.push(taskOut(t, wantsTags(input)));
      else failures.push({ arn: r, reason: 'MISSING' });
    }
    return { tasks, failures };
  },

  DescribeTaskDefinition(fleet, region, input) {
    const ref = str(input, 'taskDefinition');
    if (ref === undefined) throw new AwsApiError('InvalidParameterException', 'taskDefinition is required.');
    const td = fleet.findTaskDefinition(region, ref);
    if (!td) throw new AwsApiError('ClientException', 'Unable to describe task definition.');
    return {
      taskDefinition: {
        taskDefinitionArn: td.arn,
        family: td.family,
        revision: td.revision,
        status: td.status,
        registeredAt: sec(td.registeredAtMs),
        containerDefinitions: td.containers.map((c) => ({ name: c.name, image: c.image, essential: true })),
      },
      tags: [],
    };
  },

  ListTaskDefinitions(fleet, region, input) {
    const arns = fleet
      .allTaskDefinitions()
      .filter((td) => td.region === region && td.status === 'ACTIVE')
      .map((td) => td.arn);
    const page = paginate(arns, input, 100);
    return { taskDefinitionArns: page['arns'], nextToken: page['nextToken'] };
  },

  ListContainerInstances(fleet, region, input) {
    const c = mustCluster(fleet, region, input);
    const page = paginate([...c.containerInstances.keys()], input, 100);
    return { containerInstanceArns: page['arns'], nextToken: page['nextToken'] };
  },

  DescribeContainerInstances(fleet, region, input) {
    const c = mustCluster(fleet, region, input);
    const refs = strList(input, 'containerInstances');
    checkBatch(refs, 'containerInstances', 100);
    const containerInstances: Output[] = [];
    const failures: Output[] = [];
    for (const r of refs) {
      const ci = c.containerInstances.get(r);
      if (ci) containerInstances.push(containerInstanceOut(ci, wantsTags(input)));
      else failures.push({ arn: r, reason: 'MISSING' });
    }
    return { containerInstances, failures };
  },

  ListTagsForResource(fleet, region, input) {
    const arn = str(input, 'resourceArn');
    if (arn === undefined) throw new AwsApiError('InvalidParameterException', 'resourceArn is required.');
    for (const c of fleet.clustersIn(region)) {
      if (c.arn === arn) return { tags: tagsOut(c.tags) };
      for (const s of c.services.values()) if (s.arn === arn) return { tags: tagsOut(s.tags) };
      const t = c.tasks.get(arn);
      if (t) return { tags: tagsOut(t.tags) };
      const ci = c.containerInstances.get(arn);
      if (ci) return { tags: tagsOut(ci.tags) };
    }
    throw new AwsApiError('InvalidParameterException', 'The specified resource could not be found.');
  },
};
