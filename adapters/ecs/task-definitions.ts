/**
 * Task definitions by ARN. A revision is immutable, so each ARN is described once ever and kept in
 * `deps.cache` (namespace `ecs-taskdef`, persisted by the daemon): DescribeTaskDefinition is called
 * once per ARN per install, concurrent requests for one ARN share one call.
 *
 * Failure: an ARN that cannot be described (deregistered long ago, malformed reply) resolves to
 * undefined and is remembered for this process only; callers then fall back to what the task reports.
 */
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { KeyValueCache } from '../../src/provider/cache.js';
import { isThrottling } from '../../src/watch/source.js';
import { callAws } from './call.js';
import type { CallDeps } from './call.js';

export const TASKDEF_CACHE_NAMESPACE = 'ecs-taskdef';
const PARALLEL_DESCRIBES = 8;

export interface TaskDefinitionInfo {
  arn: string;
  family: string;
  revision: number;
  containers: Array<{ name: string; image: string }>;
}

export class TaskDefinitions {
  private readonly inflight = new Map<string, Promise<TaskDefinitionInfo | undefined>>();
  private readonly undescribable = new Set<string>();

  constructor(private readonly deps: CallDeps & { cache: KeyValueCache }) {}

  /** From the cache only (no API call). */
  cached(arn: string): TaskDefinitionInfo | undefined {
    const raw = this.deps.cache.get(TASKDEF_CACHE_NAMESPACE, arn);
    if (raw === undefined) return undefined;
    try {
      return parseInfo(JSON.parse(raw));
    } catch {
      return undefined;
    }
  }

  async resolve(ecs: ECSClient, arn: string): Promise<TaskDefinitionInfo | undefined> {
    const hit = this.cached(arn);
    if (hit) return hit;
    if (this.undescribable.has(arn)) return undefined;
    const running = this.inflight.get(arn);
    if (running) return running;
    const p = this.describe(ecs, arn).finally(() => this.inflight.delete(arn));
    this.inflight.set(arn, p);
    return p;
  }

  /** Resolves many ARNs (each at most once), a few in parallel; the budget paces them. */
  async resolveMany(ecs: ECSClient, arns: Iterable<string>): Promise<Map<string, TaskDefinitionInfo>> {
    const todo = [...new Set(arns)];
    const out = new Map<string, TaskDefinitionInfo>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const arn = todo[next++];
        if (arn === undefined) break;
        const info = await this.resolve(ecs, arn);
        if (info) out.set(arn, info);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_DESCRIBES, todo.length) }, worker));
    return out;
  }

  private async describe(ecs: ECSClient, arn: string): Promise<TaskDefinitionInfo | undefined> {
    try {
      const out = await callAws(this.deps, 'DescribeTaskDefinition', () =>
        ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })),
      );
      const td = out.taskDefinition;
      const info: TaskDefinitionInfo = {
        arn: td?.taskDefinitionArn ?? arn,
        family: td?.family ?? '',
        revision: td?.revision ?? 0,
        containers: (td?.containerDefinitions ?? []).flatMap((c) =>
          typeof c.name === 'string' && typeof c.image === 'string' ? [{ name: c.name, image: c.image }] : [],
        ),
      };
      this.deps.cache.set(TASKDEF_CACHE_NAMESPACE, arn, JSON.stringify(info));
      return info;
    } catch (err) {
      if (isThrottling(err)) throw err;
      const name = err instanceof Error ? err.name : '';
      // ClientException / InvalidParameterException: the revision cannot be described any more.
      if (name === 'ClientException' || name === 'InvalidParameterException') {
        this.undescribable.add(arn);
        return undefined;
      }
      throw err;
    }
  }
}

function parseInfo(v: unknown): TaskDefinitionInfo | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['arn'] !== 'string' || !Array.isArray(o['containers'])) return undefined;
  const containers: Array<{ name: string; image: string }> = [];
  for (const c of o['containers'] as unknown[]) {
    const cc = c as Record<string, unknown> | null;
    if (cc && typeof cc['name'] === 'string' && typeof cc['image'] === 'string') {
      containers.push({ name: cc['name'], image: cc['image'] });
    }
  }
  return {
    arn: o['arn'],
    family: typeof o['family'] === 'string' ? o['family'] : '',
    revision: typeof o['revision'] === 'number' ? o['revision'] : 0,
    containers,
  };
}
