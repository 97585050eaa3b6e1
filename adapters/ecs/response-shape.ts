/**
 * The SDK deserializes JSON without checking types, so a broken or hostile reply can put a number
 * where a name belongs or leave out an ARN. Describe results pass through here before
 * normalization: items without the ARNs that identify them are dropped and counted
 * (`sightline_malformed_items_total`), and fields of the wrong type are treated as absent. A bad
 * item never blocks the rest of its page and never reaches the console as a workload.
 */
import type { Cluster, ContainerInstance, Service, Task } from '@aws-sdk/client-ecs';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { counter } from '../../src/runtime/metrics.js';

function isArn(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('arn:') && v.length < 2048;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function tags(v: unknown): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  for (const t of list(v)) {
    const r = record(t);
    const key = str(r?.['key']);
    if (r && key !== undefined) out.push({ key, value: str(r['value']) ?? '' });
  }
  return out;
}

function countMalformed(deps: ProviderDeps, operation: string, n: number): void {
  if (n > 0)
    counter(
      deps.metrics.registry,
      'sightline_malformed_items_total',
      'Provider response items dropped as malformed',
      ['provider', 'operation'],
    ).inc({ provider: 'ECS', operation }, n);
}

export function wellFormedTasks(deps: ProviderDeps, raw: unknown): Task[] {
  const out: Task[] = [];
  let bad = 0;
  for (const item of list(raw)) {
    const t = record(item);
    if (!t || !isArn(t['taskArn']) || !isArn(t['clusterArn'])) {
      bad += 1;
      continue;
    }
    const version = t['version'];
    out.push({
      ...(t as Task),
      taskArn: t['taskArn'],
      clusterArn: t['clusterArn'],
      taskDefinitionArn: str(t['taskDefinitionArn']),
      group: str(t['group']),
      startedBy: str(t['startedBy']),
      lastStatus: str(t['lastStatus']),
      desiredStatus: str(t['desiredStatus']),
      launchType: str(t['launchType']) as Task['launchType'],
      containerInstanceArn: str(t['containerInstanceArn']),
      availabilityZone: str(t['availabilityZone']),
      version: typeof version === 'number' && Number.isFinite(version) ? version : undefined,
      tags: tags(t['tags']),
      containers: list(t['containers']).flatMap((c) => {
        const r = record(c);
        if (!r) return [];
        return [
          {
            ...r,
            name: str(r['name']),
            image: str(r['image']),
            imageDigest: str(r['imageDigest']),
            lastStatus: str(r['lastStatus']),
            runtimeId: str(r['runtimeId']),
          },
        ];
      }),
    });
  }
  countMalformed(deps, 'DescribeTasks', bad);
  return out;
}

/** Keeps items whose identifying ARN field is an ARN; tags normalized; listed string fields of another type dropped. */
function withArn<T>(
  deps: ProviderDeps,
  operation: string,
  raw: unknown,
  arnField: string,
  stringFields: string[],
): T[] {
  const out: T[] = [];
  let bad = 0;
  for (const item of list(raw)) {
    const r = record(item);
    if (!r || !isArn(r[arnField])) {
      bad += 1;
      continue;
    }
    const fixed: Record<string, unknown> = {
      ...r,
      ...(r['tags'] !== undefined ? { tags: tags(r['tags']) } : {}),
    };
    for (const f of stringFields) if (fixed[f] !== undefined && typeof fixed[f] !== 'string') delete fixed[f];
    out.push(fixed as T);
  }
  countMalformed(deps, operation, bad);
  return out;
}

export const wellFormedClusters = (deps: ProviderDeps, raw: unknown): Cluster[] =>
  withArn<Cluster>(deps, 'DescribeClusters', raw, 'clusterArn', ['clusterName', 'status']);
export const wellFormedServices = (deps: ProviderDeps, raw: unknown): Service[] =>
  withArn<Service>(deps, 'DescribeServices', raw, 'serviceArn', [
    'serviceName',
    'clusterArn',
    'status',
    'taskDefinition',
    'launchType',
    'platformVersion',
  ]);
export const wellFormedContainerInstances = (deps: ProviderDeps, raw: unknown): ContainerInstance[] =>
  withArn<ContainerInstance>(deps, 'DescribeContainerInstances', raw, 'containerInstanceArn', [
    'ec2InstanceId',
    'status',
  ]);
