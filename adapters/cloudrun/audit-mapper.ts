/**
 * Pure mapping of one Cloud Audit Logs entry (JSON form, as Cloud Logging shows it or as
 * `logEntryToJson` produces from the gRPC form) to change hints on Cloud Run resources.
 *
 * Targets come from `resource.type` and `resource.labels` (service_name, revision_name, job_name,
 * worker_pool_name, location, project_id), never from `resourceName`. v1 and v2 method names and
 * system events (which may lack `methodName`) are understood; `@type` may also appear as
 * `at_sign_type` (seen in exported samples). IAM and read methods are ignored on purpose.
 *
 * Never throws: bad input comes back as `{ outcome: 'malformed' | 'unknown', reason }`.
 */
import type { Digest } from '../../src/model/index.js';
import { arr, isObject, obj, str } from './json.js';
import type { RunResourceRef } from './names.js';
import { AUDIT_LOG_TYPE_URL } from './audit-proto.js';

export const RUN_SERVICE_NAME = 'run.googleapis.com';

export interface AuditHint {
  type: 'changed' | 'deleted';
  target: RunResourceRef;
}

export interface ContainerDigest {
  container: string;
  image?: string;
  digest: Digest;
}

/** Digests found in a v1 Revision carried by the entry (system events). */
export interface RevisionDigests {
  project: string;
  region: string;
  service: string;
  revision: string;
  containers: ContainerDigest[];
}

export type AuditOutcome = 'mapped' | 'ignored' | 'malformed' | 'unknown';

export interface AuditMapping {
  outcome: AuditOutcome;
  reason?: string;
  hints: AuditHint[];
  revisionDigests?: RevisionDigests;
  /** The entry's method (last segment, e.g. `CreateService`), or `SystemEvent` when absent. */
  method?: string;
}

const IGNORED_METHOD_RE = /^(?:Get|List|SetIamPolicy|GetIamPolicy|TestIamPermissions|Wait)/;
const DELETE_RE = /^Delete/;
const CHANGE_RE = /^(?:Create|Replace|Update|Run|Cancel|Start|Stop)/;
const DIGEST_RE = /sha256:[a-f0-9]{64}/;

function ignored(reason: string, method?: string): AuditMapping {
  return method === undefined
    ? { outcome: 'ignored', reason, hints: [] }
    : { outcome: 'ignored', reason, hints: [], method };
}

/** Extracts `sha256:<hex>` from `image@sha256:<hex>` or a bare digest. */
function digestIn(text: string | undefined): Digest | undefined {
  if (text === undefined) return undefined;
  const m = DIGEST_RE.exec(text);
  return m ? (m[0] as Digest) : undefined;
}

/** Reads the digests of a v1 (Knative) Revision: `status.containerStatuses[]`, else `status.imageDigest`. */
export function v1RevisionDigests(rev: unknown): ContainerDigest[] {
  const status = obj(rev, 'status');
  const specContainers = arr(obj(rev, 'spec'), 'containers').filter(isObject);
  const out: ContainerDigest[] = [];
  for (const cs of arr(status, 'containerStatuses')) {
    const d = digestIn(str(cs, 'imageDigest'));
    if (!d) continue;
    const name = str(cs, 'name') ?? '';
    const spec = specContainers.find((c) => (str(c, 'name') ?? '') === name);
    const c: ContainerDigest = { container: name, digest: d };
    const image = str(spec, 'image');
    if (image !== undefined) c.image = image;
    out.push(c);
  }
  if (out.length === 0) {
    const d = digestIn(str(status, 'imageDigest'));
    if (d && specContainers.length <= 1) {
      const c: ContainerDigest = { container: str(specContainers[0], 'name') ?? '', digest: d };
      const image = str(specContainers[0], 'image');
      if (image !== undefined) c.image = image;
      out.push(c);
    }
  }
  return out;
}

export function auditEntryToHints(entry: unknown): AuditMapping {
  if (!isObject(entry)) return { outcome: 'malformed', reason: 'entry is not an object', hints: [] };
  const payload = obj(entry, 'protoPayload');
  if (!payload) return { outcome: 'unknown', reason: 'no protoPayload (not an audit entry)', hints: [] };
  const type = str(payload, '@type') ?? str(payload, 'at_sign_type');
  if (type !== undefined && type !== AUDIT_LOG_TYPE_URL) {
    return { outcome: 'unknown', reason: `protoPayload type ${type}`, hints: [] };
  }
  if (str(payload, 'serviceName') !== RUN_SERVICE_NAME) return ignored('not run.googleapis.com');

  const logName = str(entry, 'logName') ?? '';
  const isSystemEvent = logName.endsWith('%2Fsystem_event') || logName.endsWith('/system_event');
  const methodName = str(payload, 'methodName');
  const method = methodName ? (methodName.split(/[./]/).pop() ?? '') : isSystemEvent ? 'SystemEvent' : '';
  if (method === '')
    return { outcome: 'malformed', reason: 'no methodName outside a system event', hints: [] };
  if (IGNORED_METHOD_RE.test(method)) return ignored(`method ${method} changes no workload`, method);

  // A long-running operation logs at its start and at its end: only the end (or the Ready system
  // event) says what the operation did, so the start costs no read.
  const operation = obj(entry, 'operation');
  if (operation?.['first'] === true && operation['last'] !== true)
    return ignored('long-running operation started (its end entry follows)', method);

  const status = obj(payload, 'status');
  const code = status?.['code'];
  if (typeof code === 'number' && code !== 0) return ignored(`operation failed with code ${code}`, method);

  const isDelete = DELETE_RE.test(method);
  if (!isDelete && !CHANGE_RE.test(method) && method !== 'SystemEvent') {
    return { outcome: 'unknown', reason: `unknown method ${method}`, hints: [], method };
  }

  const resource = obj(entry, 'resource');
  const labels = obj(resource, 'labels');
  const project = str(labels, 'project_id') ?? '';
  const region = str(labels, 'location') ?? '';
  if (!project || !region)
    return {
      outcome: 'malformed',
      reason: 'resource.labels lacks project_id or location',
      hints: [],
      method,
    };

  const response = obj(payload, 'response');
  const responseKind = str(response, 'kind');
  const responseName = str(obj(response, 'metadata'), 'name');
  const hintType = isDelete ? 'deleted' : 'changed';
  const hints: AuditHint[] = [];
  const mapping: AuditMapping = { outcome: 'mapped', hints, method };

  switch (str(resource, 'type')) {
    case 'cloud_run_revision': {
      let service = str(labels, 'service_name') ?? '';
      const revisionLabel = str(labels, 'revision_name') ?? '';
      if (!service && responseKind === 'Service' && responseName) service = responseName;
      if (!service)
        return {
          outcome: 'malformed',
          reason: 'cloud_run_revision entry without service_name',
          hints: [],
          method,
        };
      const isRevisionDelete = isDelete && /Revision$/.test(method);
      if (!isRevisionDelete)
        hints.push({ type: hintType, target: { kind: 'service', project, region, name: service } });
      const revision = revisionLabel || (responseKind === 'Revision' ? responseName : undefined);
      if (revision) {
        hints.push({
          type: isRevisionDelete ? 'deleted' : 'changed',
          target: { kind: 'revision', project, region, service, name: revision },
        });
        if (responseKind === 'Revision') {
          const containers = v1RevisionDigests(response);
          if (containers.length > 0)
            mapping.revisionDigests = { project, region, service, revision, containers };
        }
      }
      return mapping;
    }
    case 'cloud_run_job': {
      const job = str(labels, 'job_name') ?? (responseKind === 'Job' ? responseName : undefined);
      if (!job)
        return { outcome: 'malformed', reason: 'cloud_run_job entry without job_name', hints: [], method };
      const isExecutionOp = /Execution$/.test(method);
      if (!(isDelete && isExecutionOp))
        hints.push({ type: hintType, target: { kind: 'job', project, region, name: job } });
      if (responseKind === 'Execution' && responseName) {
        hints.push({
          type: isDelete ? 'deleted' : 'changed',
          target: { kind: 'execution', project, region, job, name: responseName },
        });
      }
      return mapping;
    }
    case 'cloud_run_worker_pool': {
      const pool =
        str(labels, 'worker_pool_name') ?? (responseKind === 'WorkerPool' ? responseName : undefined);
      if (!pool)
        return {
          outcome: 'malformed',
          reason: 'cloud_run_worker_pool entry without worker_pool_name',
          hints: [],
          method,
        };
      hints.push({ type: hintType, target: { kind: 'workerPool', project, region, name: pool } });
      return mapping;
    }
    default:
      return ignored(`resource.type ${str(resource, 'type') ?? '(none)'} is not watched`, method);
  }
}
