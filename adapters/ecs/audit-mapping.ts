/**
 * One CloudTrail record -> the ECS resources it says may have changed. Reads `eventName`,
 * `requestParameters` and `responseElements` (names and ARNs both appear; names are resolved to ARNs
 * in the record's account and region). Read-only calls, other services, errored calls (errorCode)
 * and events that change no watched object (RegisterTaskDefinition, PutAccountSettingDefault, ...)
 * are ignored; a record that is not a JSON object with eventName/eventTime is `malformed`.
 *
 * Pure and total: never throws.
 */
import { ecsArn } from './normalizer.js';

export type AuditRef =
  | { kind: 'cluster'; clusterArn: string; deleted: boolean }
  | { kind: 'service'; clusterArn: string; service: string; deleted: boolean }
  | { kind: 'task'; clusterArn: string; taskArn: string }
  | { kind: 'node'; clusterArn: string; containerInstanceArn: string; deleted: boolean };

export type AuditOutcome = 'mapped' | 'ignored' | 'read' | 'errored' | 'malformed' | 'other-region';

export interface MappedEvent {
  outcome: AuditOutcome;
  eventName?: string;
  eventTimeMs?: number;
  refs: AuditRef[];
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function s(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : [];
}

export function mapCloudTrailEvent(raw: string, region: string, account: string): MappedEvent {
  let doc: Obj | undefined;
  try {
    doc = obj(JSON.parse(raw));
  } catch {
    doc = undefined;
  }
  if (!doc) return { outcome: 'malformed', refs: [] };
  const eventName = s(doc['eventName']);
  const eventTime = s(doc['eventTime']);
  const eventTimeMs = eventTime !== undefined ? Date.parse(eventTime) : NaN;
  if (eventName === undefined || Number.isNaN(eventTimeMs)) return { outcome: 'malformed', refs: [] };
  const base = { eventName, eventTimeMs };
  if (doc['eventSource'] !== 'ecs.amazonaws.com') return { ...base, outcome: 'ignored', refs: [] };
  if (doc['readOnly'] === true) return { ...base, outcome: 'read', refs: [] };
  if (doc['errorCode'] !== undefined && doc['errorCode'] !== null)
    return { ...base, outcome: 'errored', refs: [] };
  const eventRegion = s(doc['awsRegion']) ?? region;
  if (eventRegion !== region) return { ...base, outcome: 'other-region', refs: [] };
  const acct = s(doc['recipientAccountId']) ?? account;
  const req = obj(doc['requestParameters']) ?? {};
  const resp = obj(doc['responseElements']) ?? {};
  const refs = refsOf(eventName, req, resp, region, acct);
  if (refs === undefined) return { ...base, outcome: 'ignored', refs: [] };
  return { ...base, outcome: 'mapped', refs };
}

function refsOf(name: string, req: Obj, resp: Obj, region: string, account: string): AuditRef[] | undefined {
  const clusterArnOf = (ref: string | undefined): string =>
    ref?.startsWith('arn:') ? ref : ecsArn(region, account, `cluster/${ref ?? 'default'}`);
  const clusterName = (ref: string | undefined): string => {
    const arn = clusterArnOf(ref);
    return arn.slice(arn.indexOf(':cluster/') + ':cluster/'.length);
  };
  const taskArnOf = (cluster: string | undefined, ref: string): string =>
    ref.startsWith('arn:') ? ref : ecsArn(region, account, `task/${clusterName(cluster)}/${ref}`);
  const ciArnOf = (cluster: string | undefined, ref: string): string =>
    ref.startsWith('arn:')
      ? ref
      : ecsArn(region, account, `container-instance/${clusterName(cluster)}/${ref}`);
  const respCluster = obj(resp['cluster']);
  const respService = obj(resp['service']);
  const reqCluster = s(req['cluster']);

  switch (name) {
    case 'CreateCluster':
    case 'UpdateCluster':
    case 'UpdateClusterSettings':
    case 'PutClusterCapacityProviders':
    case 'DeleteCluster': {
      const ref = s(respCluster?.['clusterArn']) ?? reqCluster ?? s(req['clusterName']);
      return [{ kind: 'cluster', clusterArn: clusterArnOf(ref), deleted: name === 'DeleteCluster' }];
    }
    case 'CreateService':
    case 'UpdateService':
    case 'DeleteService': {
      const clusterRef = s(respService?.['clusterArn']) ?? reqCluster;
      const service = s(respService?.['serviceArn']) ?? s(req['service']) ?? s(req['serviceName']);
      if (service === undefined) return [];
      return [
        { kind: 'service', clusterArn: clusterArnOf(clusterRef), service, deleted: name === 'DeleteService' },
      ];
    }
    case 'CreateTaskSet':
    case 'UpdateTaskSet':
    case 'DeleteTaskSet':
    case 'UpdateServicePrimaryTaskSet': {
      const service = s(req['service']);
      if (service === undefined) return [];
      return [{ kind: 'service', clusterArn: clusterArnOf(reqCluster), service, deleted: false }];
    }
    case 'RunTask':
    case 'StartTask': {
      const tasks = Array.isArray(resp['tasks']) ? (resp['tasks'] as unknown[]) : [];
      return tasks.flatMap((t): AuditRef[] => {
        const o = obj(t);
        const arn = s(o?.['taskArn']);
        if (arn === undefined) return [];
        return [{ kind: 'task', clusterArn: clusterArnOf(s(o?.['clusterArn']) ?? reqCluster), taskArn: arn }];
      });
    }
    case 'StopTask':
    case 'SubmitTaskStateChange': {
      const task = s(obj(resp['task'])?.['taskArn']) ?? s(req['task']);
      if (task === undefined) return [];
      return [{ kind: 'task', clusterArn: clusterArnOf(reqCluster), taskArn: taskArnOf(reqCluster, task) }];
    }
    case 'RegisterContainerInstance':
    case 'DeregisterContainerInstance':
    case 'UpdateContainerAgent': {
      const ci = s(obj(resp['containerInstance'])?.['containerInstanceArn']) ?? s(req['containerInstance']);
      if (ci === undefined) return [];
      return [
        {
          kind: 'node',
          clusterArn: clusterArnOf(reqCluster),
          containerInstanceArn: ciArnOf(reqCluster, ci),
          deleted: name === 'DeregisterContainerInstance',
        },
      ];
    }
    case 'UpdateContainerInstancesState':
      return strings(req['containerInstances']).map((ci) => ({
        kind: 'node',
        clusterArn: clusterArnOf(reqCluster),
        containerInstanceArn: ciArnOf(reqCluster, ci),
        deleted: false,
      }));
    case 'TagResource':
    case 'UntagResource': {
      const arn = s(req['resourceArn']);
      return arn === undefined ? [] : refOfResourceArn(arn, region, account);
    }
    default:
      // RegisterTaskDefinition / DeregisterTaskDefinition: revisions are immutable and not model
      // objects; account settings, capacity providers, attributes: no watched object changes.
      return undefined;
  }
}

/** A tagged resource ARN -> the object whose labels changed. */
function refOfResourceArn(arn: string, region: string, account: string): AuditRef[] {
  const m = /^arn:[^:]+:ecs:[^:]*:[^:]*:([a-z-]+)\/(.+)$/.exec(arn);
  if (!m) return [];
  const type = m[1];
  const path = (m[2] ?? '').split('/');
  const cluster = (name: string | undefined): string =>
    ecsArn(region, account, `cluster/${name ?? 'default'}`);
  switch (type) {
    case 'cluster':
      return [{ kind: 'cluster', clusterArn: arn, deleted: false }];
    case 'service':
      return path.length >= 2
        ? [{ kind: 'service', clusterArn: cluster(path[0]), service: arn, deleted: false }]
        : [];
    case 'task':
      return path.length >= 2 ? [{ kind: 'task', clusterArn: cluster(path[0]), taskArn: arn }] : [];
    case 'container-instance':
      return path.length >= 2
        ? [{ kind: 'node', clusterArn: cluster(path[0]), containerInstanceArn: arn, deleted: false }]
        : [];
    default:
      return [];
  }
}
