/**
 * One ECS EventBridge event -> the ECS objects it changes (docs: "Amazon ECS events"). A task
 * event's `detail` has the shape of a DescribeTasks task (containers with `imageDigest`, `version`),
 * so it becomes a full task state (`taskState`) that needs no DescribeTasks; a container instance
 * event likewise (`nodeState`, ordered by its `version`). Deployment state changes and service
 * actions other than the periodic `*_STEADY_STATE` become references to their service (read by
 * the services source). Outcomes (counted by the feed): `mapped`, `ignored` (steady-state noise,
 * other detail types), `other-region`, `foreign` (another source or account), `malformed`.
 *
 * Pure and total: never throws.
 */
import type { ContainerInstance, Task } from '@aws-sdk/client-ecs';
import type { EventBridgeEvent, MappedFeedEvent } from '../aws/sqs-feed.js';
import type { AuditRef } from './audit-mapping.js';

/** A task's full state from its event (tags are not in events: they come from the store or a read). */
export interface TaskStateRef {
  kind: 'taskState';
  clusterArn: string;
  taskArn: string;
  task: Task;
}

/** A container instance's full state from its event. */
export interface NodeStateRef {
  kind: 'nodeState';
  clusterArn: string;
  containerInstanceArn: string;
  instance: ContainerInstance;
}

/** What the ECS sources read from their feeds: CloudTrail references and pushed states. */
export type EcsRef = AuditRef | TaskStateRef | NodeStateRef;

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** The task of a "ECS Task State Change" detail, in the SDK's DescribeTasks shape. */
export function taskOfDetail(d: Obj): Task | undefined {
  const taskArn = str(d['taskArn']);
  const clusterArn = str(d['clusterArn']);
  if (taskArn === undefined || clusterArn === undefined) return undefined;
  const containers = (Array.isArray(d['containers']) ? d['containers'] : []).flatMap((raw) => {
    const c = obj(raw);
    if (!c) return [];
    return [
      {
        ...(str(c['containerArn']) !== undefined ? { containerArn: str(c['containerArn']) } : {}),
        ...(str(c['name']) !== undefined ? { name: str(c['name']) } : {}),
        ...(str(c['image']) !== undefined ? { image: str(c['image']) } : {}),
        ...(str(c['imageDigest']) !== undefined ? { imageDigest: str(c['imageDigest']) } : {}),
        ...(str(c['lastStatus']) !== undefined ? { lastStatus: str(c['lastStatus']) } : {}),
      },
    ];
  });
  const task: Task = { taskArn, clusterArn, containers };
  const copy = (
    k: 'group' | 'startedBy' | 'containerInstanceArn' | 'lastStatus' | 'desiredStatus' | 'taskDefinitionArn',
  ): void => {
    const v = str(d[k]);
    if (v !== undefined) task[k] = v;
  };
  copy('group');
  copy('startedBy');
  copy('containerInstanceArn');
  copy('lastStatus');
  copy('desiredStatus');
  copy('taskDefinitionArn');
  const version = int(d['version']);
  if (version !== undefined) task.version = version;
  return task;
}

function instanceOfDetail(d: Obj): ContainerInstance | undefined {
  const arn = str(d['containerInstanceArn']);
  if (arn === undefined) return undefined;
  const ci: ContainerInstance = { containerInstanceArn: arn };
  const ec2 = str(d['ec2InstanceId']);
  if (ec2 !== undefined) ci.ec2InstanceId = ec2;
  const status = str(d['status']);
  if (status !== undefined) ci.status = status;
  const cp = str(d['capacityProviderName']);
  if (cp !== undefined) ci.capacityProviderName = cp;
  const version = int(d['version']);
  if (version !== undefined) ci.version = version;
  const vi = obj(d['versionInfo']);
  if (vi) {
    ci.versionInfo = {};
    const agent = str(vi['agentVersion']);
    const docker = str(vi['dockerVersion']);
    if (agent !== undefined) ci.versionInfo.agentVersion = agent;
    if (docker !== undefined) ci.versionInfo.dockerVersion = docker;
  }
  if (Array.isArray(d['attributes'])) {
    ci.attributes = d['attributes'].flatMap((raw) => {
      const a = obj(raw);
      const name = str(a?.['name']);
      if (name === undefined) return [];
      const value = str(a?.['value']);
      return [value !== undefined ? { name, value } : { name }];
    });
  }
  return ci;
}

/** `arn:aws:ecs:<region>:<account>:service/<cluster>/<name>` -> its cluster ARN. */
function clusterOfServiceArn(arn: string): string | undefined {
  const m = /^(arn:[^:]+:ecs:[^:]+:\d{12}:)service\/([^/]+)\/[^/]+$/.exec(arn);
  return m ? `${m[1]}cluster/${m[2]}` : undefined;
}

export function mapEcsEvent(e: EventBridgeEvent, region: string, account: string): MappedFeedEvent<EcsRef> {
  if (e.source !== 'aws.ecs' || (e.account !== '' && e.account !== account))
    return { outcome: 'foreign', refs: [] };
  if (e.region !== '' && e.region !== region) return { outcome: 'other-region', refs: [] };
  const d = e.detail;
  switch (e.detailType) {
    case 'ECS Task State Change': {
      const task = taskOfDetail(d);
      if (!task?.taskArn || !task.clusterArn) return { outcome: 'malformed', refs: [] };
      return {
        outcome: 'mapped',
        refs: [{ kind: 'taskState', clusterArn: task.clusterArn, taskArn: task.taskArn, task }],
      };
    }
    case 'ECS Container Instance State Change': {
      const instance = instanceOfDetail(d);
      const clusterArn = str(d['clusterArn']);
      if (!instance?.containerInstanceArn || clusterArn === undefined)
        return { outcome: 'malformed', refs: [] };
      return {
        outcome: 'mapped',
        refs: [
          { kind: 'nodeState', clusterArn, containerInstanceArn: instance.containerInstanceArn, instance },
        ],
      };
    }
    case 'ECS Service Action':
    case 'ECS Deployment State Change': {
      const eventName = str(d['eventName']) ?? '';
      // Periodic "still steady" notices change nothing (the customer's rule should drop them too).
      if (eventName.endsWith('_STEADY_STATE')) return { outcome: 'ignored', refs: [] };
      const serviceArn = e.resources.find((r) => r.includes(':service/'));
      const clusterArn =
        str(d['clusterArn']) ?? (serviceArn !== undefined ? clusterOfServiceArn(serviceArn) : undefined);
      if (serviceArn === undefined || clusterArn === undefined) return { outcome: 'malformed', refs: [] };
      return {
        outcome: 'mapped',
        refs: [{ kind: 'service', clusterArn, service: serviceArn, deleted: false }],
      };
    }
    default:
      return { outcome: 'ignored', refs: [] };
  }
}
