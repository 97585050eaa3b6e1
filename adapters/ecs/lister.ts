/**
 * Batched reads at minimum API cost (docs/reference/cloud-apis.md): list pages of 100 (ListServices asks for 100,
 * its default is 10), Describe* in batches of 100 (services: 10) with `include: ["TAGS"]` (never
 * ListTagsForResource), task definitions once per ARN ever (TaskDefinitions cache). Results are
 * normalized here. Describe `failures[]` are dropped (the resource is gone).
 *
 * Failure: any call's error propagates (ThrottledError for throttling); nothing is half-returned.
 */
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  ListServicesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import type { Cluster, ContainerInstance, Service, Task } from '@aws-sdk/client-ecs';
import type { ClusterObject } from '../../src/model/index.js';
import { callEcs, chunks } from './call.js';
import {
  normalizeCluster,
  normalizeContainerInstance,
  normalizeService,
  normalizeTask,
} from './normalizer.js';
import { nextPageToken } from '../aws/paging.js';
import {
  wellFormedClusters,
  wellFormedContainerInstances,
  wellFormedServices,
  wellFormedTasks,
} from './response-shape.js';
import type { RegionContext } from './region.js';

export const DESCRIBE_CLUSTERS_MAX = 100;
const DESCRIBE_SERVICES_MAX = 10;
const DESCRIBE_TASKS_MAX = 100;
const DESCRIBE_CONTAINER_INSTANCES_MAX = 100;
const LIST_MAX_RESULTS = 100;

export interface ArnPage {
  arns: string[];
  nextToken?: string;
}

export async function describeClusters(rc: RegionContext, arns: string[]): Promise<Cluster[]> {
  const out: Cluster[] = [];
  for (const batch of chunks(arns, DESCRIBE_CLUSTERS_MAX)) {
    const r = await callEcs(rc.deps, 'DescribeClusters', () =>
      rc.clients.ecs.send(new DescribeClustersCommand({ clusters: batch, include: ['TAGS', 'SETTINGS'] })),
    );
    for (const c of wellFormedClusters(rc.deps, r.clusters)) {
      if (c.clusterArn) {
        rc.directory.learn(c.clusterArn);
        out.push(c);
      }
    }
  }
  return out;
}

export function normalizeClusters(rc: RegionContext, clusters: Cluster[]): ClusterObject[] {
  return clusters.filter((c) => c.status !== 'INACTIVE').flatMap((c) => normalizeCluster(rc.ctx, c));
}

export async function listServicePage(
  rc: RegionContext,
  clusterArn: string,
  token: string | undefined,
): Promise<ArnPage> {
  const r = await callEcs(rc.deps, 'ListServices', () =>
    rc.clients.ecs.send(
      new ListServicesCommand({
        cluster: clusterArn,
        maxResults: LIST_MAX_RESULTS,
        ...(token ? { nextToken: token } : {}),
      }),
    ),
  );
  const next = nextPageToken('ListServices', token, r.nextToken);
  return { arns: r.serviceArns ?? [], ...(next !== undefined ? { nextToken: next } : {}) };
}

export async function describeServices(
  rc: RegionContext,
  clusterArn: string,
  arns: string[],
): Promise<Service[]> {
  const out: Service[] = [];
  for (const batch of chunks(arns, DESCRIBE_SERVICES_MAX)) {
    const r = await callEcs(rc.deps, 'DescribeServices', () =>
      rc.clients.ecs.send(
        new DescribeServicesCommand({ cluster: clusterArn, services: batch, include: ['TAGS'] }),
      ),
    );
    for (const s of wellFormedServices(rc.deps, r.services)) out.push(s);
  }
  return out;
}

/** Services -> Deployment + ReplicaSets (INACTIVE / DRAINING services are gone). */
export async function normalizeServices(rc: RegionContext, services: Service[]): Promise<ClusterObject[]> {
  const live = services.filter((s) => s.status === 'ACTIVE');
  const tdArns = new Set<string>();
  for (const s of live) {
    if (s.taskDefinition) tdArns.add(s.taskDefinition);
    for (const d of s.deployments ?? []) if (d.taskDefinition) tdArns.add(d.taskDefinition);
    for (const ts of s.taskSets ?? []) if (ts.taskDefinition) tdArns.add(ts.taskDefinition);
  }
  const tds = await rc.taskDefs.resolveMany(rc.clients.ecs, tdArns);
  return live.flatMap((s) => normalizeService(rc.ctx, s, tds));
}

export async function listTaskPage(
  rc: RegionContext,
  clusterArn: string,
  desiredStatus: 'RUNNING' | 'STOPPED',
  token: string | undefined,
): Promise<ArnPage> {
  const r = await callEcs(rc.deps, 'ListTasks', () =>
    rc.clients.ecs.send(
      new ListTasksCommand({
        cluster: clusterArn,
        desiredStatus,
        maxResults: LIST_MAX_RESULTS,
        ...(token ? { nextToken: token } : {}),
      }),
    ),
  );
  const next = nextPageToken('ListTasks', token, r.nextToken);
  return { arns: r.taskArns ?? [], ...(next !== undefined ? { nextToken: next } : {}) };
}

export async function describeTasks(rc: RegionContext, clusterArn: string, arns: string[]): Promise<Task[]> {
  const out: Task[] = [];
  for (const batch of chunks(arns, DESCRIBE_TASKS_MAX)) {
    const r = await callEcs(rc.deps, 'DescribeTasks', () =>
      rc.clients.ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: batch, include: ['TAGS'] })),
    );
    for (const t of wellFormedTasks(rc.deps, r.tasks)) out.push(t);
  }
  return out;
}

export async function normalizeTasks(rc: RegionContext, tasks: Task[]): Promise<ClusterObject[]> {
  const tds = await rc.taskDefs.resolveMany(
    rc.clients.ecs,
    tasks.flatMap((t) => (t.taskDefinitionArn ? [t.taskDefinitionArn] : [])),
  );
  return tasks.map((t) => normalizeTask(rc.ctx, t, tds.get(t.taskDefinitionArn ?? ''), rc.onUnresolved));
}

export async function listContainerInstancePage(
  rc: RegionContext,
  clusterArn: string,
  token: string | undefined,
): Promise<ArnPage> {
  const r = await callEcs(rc.deps, 'ListContainerInstances', () =>
    rc.clients.ecs.send(
      new ListContainerInstancesCommand({
        cluster: clusterArn,
        maxResults: LIST_MAX_RESULTS,
        ...(token ? { nextToken: token } : {}),
      }),
    ),
  );
  const next = nextPageToken('ListContainerInstances', token, r.nextToken);
  return { arns: r.containerInstanceArns ?? [], ...(next !== undefined ? { nextToken: next } : {}) };
}

export async function describeContainerInstances(
  rc: RegionContext,
  clusterArn: string,
  arns: string[],
): Promise<ContainerInstance[]> {
  const out: ContainerInstance[] = [];
  for (const batch of chunks(arns, DESCRIBE_CONTAINER_INSTANCES_MAX)) {
    const r = await callEcs(rc.deps, 'DescribeContainerInstances', () =>
      rc.clients.ecs.send(
        new DescribeContainerInstancesCommand({
          cluster: clusterArn,
          containerInstances: batch,
          include: ['TAGS'],
        }),
      ),
    );
    for (const ci of wellFormedContainerInstances(rc.deps, r.containerInstances)) out.push(ci);
  }
  return out;
}

export function normalizeContainerInstances(clusterArn: string, cis: ContainerInstance[]): ClusterObject[] {
  return cis.filter((ci) => ci.status !== 'INACTIVE').map((ci) => normalizeContainerInstance(clusterArn, ci));
}
