/**
 * The emulator's scriptable fleet: Cloud Run services (with revisions and traffic), jobs (with
 * executions) and worker pools per project and region, plus the audit entries real Cloud Run would
 * write for each change (Admin Activity with v1 or v2 method names; the `system_event` Ready entry
 * carrying a v1 Revision with `status.imageDigest`, after a configurable delay).
 *
 * A rollout is `reconciling` until its revision is Ready (traffic on LATEST moves to it) or, with
 * `failWith` (`failRollout`), fails: the revision's Ready condition and the service's terminal
 * condition become CONDITION_FAILED, traffic and `latest_ready_revision` stay where they were, and a
 * `system_event` entry says so, as Cloud Run does when a new revision's container never starts.
 *
 * Time comes from an injected RxJS scheduler (`now()` + `epochOffsetMs` gives timestamps; delays are
 * scheduled on it), so tests may drive it with virtual time. Digests are deterministic: sha256 of the
 * image reference unless given. Methods throw a specific Error on script mistakes (unknown service).
 */
import { createHash } from 'node:crypto';
import type { SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import type { JsonObject } from '../json.js';
import { LogStore } from './log-store.js';
import { timestampFromMs, timestampToProto } from '../log-cursor.js';

export type Wire = Record<string, unknown>;

export interface FleetOptions {
  scheduler?: SchedulerLike;
  /** Added to `scheduler.now()` for timestamps (virtual schedulers start at 0). */
  epochOffsetMs?: number;
  /** Delay between a deploy's activity entry and its Ready system event (default 0). */
  readyDelayMs?: number;
  /** Projects and their regions (ListLocations answers from this). */
  projects?: Record<string, string[]>;
  /**
   * v2 deploys log as long-running operations do: an activity entry at the start
   * (`operation.first`), another at the end (`operation.last`, when the revision is Ready or
   * failed), then the Ready system event: three entries a deploy (default false: one activity entry).
   */
  lroAudit?: boolean;
}

export interface DeployOptions {
  /** Use this digest instead of sha256(image). */
  digest?: string;
  labels?: Record<string, string>;
  readyDelayMs?: number;
  /** Which API the caller used: decides methodName and resourceName forms (default v2). */
  api?: 'v1' | 'v2';
  containerName?: string;
  /** Write no audit entries (initial fleet population). */
  silent?: boolean;
  /** The Ready system event carries no digest (for unresolved-digest scenarios). */
  omitDigest?: boolean;
  /** The revision never becomes Ready: it fails with this message after the ready delay. */
  failWith?: string;
}

interface RevisionRec {
  wire: Wire;
  service: string;
  short: string;
  image: string;
  containerName: string;
  digest: string;
  ready: boolean;
  /** Its Ready condition failed (a failed rollout). */
  failed: boolean;
  omitDigest: boolean;
}

interface ServiceRec {
  project: string;
  region: string;
  short: string;
  wire: Wire;
  revisions: string[];
  generation: number;
}

export const DEFAULT_REGIONS = ['us-central1', 'europe-west1'];

export function digestOf(image: string): string {
  return `sha256:${createHash('sha256').update(image).digest('hex')}`;
}

function imageRepo(image: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return colon > slash ? base.slice(0, colon) : base;
}

function uidOf(name: string): string {
  const h = createHash('sha256').update(`uid:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function failureOf(rev: RevisionRec): string {
  const conditions = rev.wire['conditions'] as Array<{ message?: string }> | undefined;
  return conditions?.[0]?.message ?? '';
}

export class Fleet {
  readonly log = new LogStore();
  readonly services = new Map<string, ServiceRec>();
  readonly revisions = new Map<string, RevisionRec>();
  readonly jobs = new Map<string, Wire>();
  readonly executions = new Map<string, Wire>();
  readonly workerPools = new Map<string, Wire>();
  private readonly projects = new Map<string, Set<string>>();
  private readonly scheduler: SchedulerLike;
  private readonly epochOffsetMs: number;
  private readonly readyDelayMs: number;
  private readonly lroAudit: boolean;
  private seq = 0;

  constructor(options: FleetOptions = {}) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.epochOffsetMs = options.epochOffsetMs ?? 0;
    this.readyDelayMs = options.readyDelayMs ?? 0;
    this.lroAudit = options.lroAudit === true;
    for (const [p, regions] of Object.entries(options.projects ?? {})) this.addProject(p, regions);
  }

  nowMs(): number {
    return this.scheduler.now() + this.epochOffsetMs;
  }

  private nowTs(): { seconds: string; nanos: number } {
    return timestampToProto(timestampFromMs(this.nowMs()));
  }

  addProject(project: string, regions: string[] = DEFAULT_REGIONS): void {
    const set = this.projects.get(project) ?? new Set<string>();
    for (const r of regions) set.add(r);
    this.projects.set(project, set);
  }

  regionsOf(project: string): string[] {
    return [...(this.projects.get(project) ?? [])].sort();
  }

  /** Appends a JSON-form audit entry (e.g. a real sample) to a project's log. */
  writeAudit(project: string, entry: JsonObject): string {
    return this.log.append(project, entry, timestampFromMs(this.nowMs())).insertId;
  }

  // ---------------------------------------------------------------- services

  deployService(project: string, region: string, name: string, image: string, opts: DeployOptions = {}) {
    this.addProject(project, [region]);
    const full = `projects/${project}/locations/${region}/services/${name}`;
    if (this.services.has(full)) throw new Error(`service ${full} exists: use rollService`);
    const rec: ServiceRec = { project, region, short: name, wire: {}, revisions: [], generation: 0 };
    this.services.set(full, rec);
    return this.newRevision(rec, image, opts, 'CreateService');
  }

  rollService(project: string, region: string, name: string, newImage: string, opts: DeployOptions = {}) {
    return this.newRevision(this.serviceRec(project, region, name), newImage, opts, 'UpdateService');
  }

  /**
   * A rollout that fails: a new revision of `name` with `newImage` is created and, after the ready
   * delay, fails (`message`); the service keeps serving what it served.
   */
  failRollout(
    project: string,
    region: string,
    name: string,
    newImage: string,
    opts: DeployOptions = {},
  ): ReturnType<Fleet['rollService']> {
    const failWith = opts.failWith ?? 'The user-provided container failed to start and listen on the port.';
    return this.rollService(project, region, name, newImage, { ...opts, failWith });
  }

  /** Sets traffic to the given revisions (short names); percentages should sum to 100. */
  splitTraffic(
    project: string,
    region: string,
    name: string,
    split: Array<{ revision: string; percent: number }>,
    opts: Pick<DeployOptions, 'api' | 'silent'> = {},
  ): void {
    const rec = this.serviceRec(project, region, name);
    for (const s of split) {
      if (!rec.revisions.includes(s.revision))
        throw new Error(`revision ${s.revision} is not a revision of ${name}`);
    }
    rec.generation += 1;
    const traffic = split.map((s) => ({
      type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
      revision: s.revision,
      percent: s.percent,
    }));
    Object.assign(rec.wire, {
      generation: String(rec.generation),
      update_time: this.nowTs(),
      traffic,
      traffic_statuses: traffic,
      etag: `"${rec.generation}"`,
    });
    if (!opts.silent)
      this.serviceActivity(rec, opts.api === 'v1' ? 'ReplaceService' : 'UpdateService', opts.api ?? 'v2', '');
  }

  deleteService(
    project: string,
    region: string,
    name: string,
    opts: Pick<DeployOptions, 'api' | 'silent'> = {},
  ): void {
    const rec = this.serviceRec(project, region, name);
    const full = `projects/${project}/locations/${region}/services/${name}`;
    for (const r of rec.revisions) this.revisions.delete(`${full}/revisions/${r}`);
    this.services.delete(full);
    if (!opts.silent) this.serviceActivity(rec, 'DeleteService', opts.api ?? 'v2', '');
  }

  private serviceRec(project: string, region: string, name: string): ServiceRec {
    const rec = this.services.get(`projects/${project}/locations/${region}/services/${name}`);
    if (!rec) throw new Error(`no service ${name} in ${project}/${region}`);
    return rec;
  }

  private newRevision(
    rec: ServiceRec,
    image: string,
    opts: DeployOptions,
    method: 'CreateService' | 'UpdateService',
  ) {
    const { project, region, short } = rec;
    const full = `projects/${project}/locations/${region}/services/${short}`;
    this.seq += 1;
    const index = rec.revisions.length + 1;
    const suffix = createHash('sha256').update(`${full}/${index}/${this.seq}`).digest('hex').slice(0, 3);
    const revShort = `${short}-${String(index).padStart(5, '0')}-${suffix}`;
    const revFull = `${full}/revisions/${revShort}`;
    const digest = opts.digest ?? digestOf(image);
    const containerName = opts.containerName ?? '';
    const labels = opts.labels ?? { ...((rec.wire['labels'] as Record<string, string> | undefined) ?? {}) };
    const now = this.nowTs();
    rec.generation += 1;
    const revWire: Wire = {
      name: revFull,
      uid: uidOf(revFull),
      generation: '1',
      labels: { ...labels },
      create_time: now,
      update_time: now,
      service: short,
      containers: [{ name: containerName, image }],
      conditions: [{ type: 'Ready', state: 'CONDITION_PENDING', last_transition_time: now }],
      etag: `"${revShort}"`,
    };
    const revRec: RevisionRec = {
      wire: revWire,
      service: short,
      short: revShort,
      image,
      containerName,
      digest,
      ready: false,
      failed: false,
      omitDigest: opts.omitDigest === true,
    };
    this.revisions.set(revFull, revRec);
    rec.revisions.push(revShort);
    const isNew = method === 'CreateService';
    Object.assign(rec.wire, {
      name: full,
      uid: (rec.wire['uid'] as string | undefined) ?? uidOf(full),
      generation: String(rec.generation),
      labels: { ...labels },
      create_time: (rec.wire['create_time'] as Wire | undefined) ?? now,
      update_time: now,
      template: { containers: [{ name: containerName, image }] },
      traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
      latest_created_revision: revFull,
      reconciling: true,
      etag: `"${rec.generation}"`,
    });
    if (isNew) rec.wire['traffic_statuses'] = [];
    const api = opts.api ?? 'v2';
    const lro = this.lroAudit && api === 'v2' ? `operations/${uidOf(revFull)}` : undefined;
    const activityMethod = api === 'v1' ? (isNew ? 'CreateService' : 'ReplaceService') : method;
    if (!opts.silent)
      this.serviceActivity(
        rec,
        activityMethod,
        api,
        '',
        lro === undefined ? undefined : { id: lro, first: true },
      );
    // The operation's end entry, just before the Ready (or failed) system event.
    const operationEnd = (): void => {
      if (lro !== undefined && !opts.silent)
        this.serviceActivity(rec, activityMethod, api, '', { id: lro, last: true });
    };
    const markReady = (): void => {
      if (!this.revisions.has(revFull)) return;
      revRec.ready = true;
      const readyAt = this.nowTs();
      revWire['conditions'] = [
        { type: 'Ready', state: 'CONDITION_SUCCEEDED', last_transition_time: readyAt },
      ];
      const traffic = rec.wire['traffic'] as Array<{ type: string }>;
      if (traffic.some((t) => t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST')) {
        rec.wire['traffic_statuses'] = [
          { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: revShort, percent: 100 },
        ];
      }
      rec.wire['latest_ready_revision'] = revFull;
      rec.wire['terminal_condition'] = {
        type: 'Ready',
        state: 'CONDITION_SUCCEEDED',
        last_transition_time: readyAt,
      };
      rec.wire['reconciling'] = false;
      operationEnd();
      if (!opts.silent) this.readyEvent(rec, revRec);
    };
    const failWith = opts.failWith;
    const markFailed = (message: string): void => {
      if (!this.revisions.has(revFull)) return;
      revRec.failed = true;
      const failed = {
        type: 'Ready',
        state: 'CONDITION_FAILED',
        message,
        last_transition_time: this.nowTs(),
      };
      revWire['conditions'] = [failed];
      revWire['update_time'] = this.nowTs();
      // Traffic and latest_ready_revision stay: the old revision keeps serving.
      rec.wire['terminal_condition'] = failed;
      rec.wire['reconciling'] = false;
      operationEnd();
      if (!opts.silent) this.readyEvent(rec, revRec);
    };
    const settle = failWith === undefined ? markReady : () => markFailed(failWith);
    if (opts.silent) settle();
    else this.scheduler.schedule(settle, opts.readyDelayMs ?? this.readyDelayMs);
    return { service: full, revision: revFull, revisionShort: revShort, digest };
  }

  /** The v1 (Knative) form of a revision, as the regional v1 REST API returns it. */
  v1Revision(revFull: string): JsonObject | undefined {
    const r = this.revisions.get(revFull);
    if (!r) return undefined;
    const [, project = '', , region = ''] = revFull.split('/');
    const status: JsonObject = r.ready
      ? { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] }
      : r.failed
        ? {
            observedGeneration: 1,
            conditions: [{ type: 'Ready', status: 'False', reason: 'HealthCheckContainerError' }],
          }
        : { conditions: [{ type: 'Ready', status: 'Unknown' }] };
    // A failed revision's image was pulled (its digest is known); its container never served.
    if ((r.ready || r.failed) && !r.omitDigest) {
      status['imageDigest'] = `${imageRepo(r.image)}@${r.digest}`;
      status['containerStatuses'] = [
        { name: r.containerName, imageDigest: `${imageRepo(r.image)}@${r.digest}` },
      ];
    }
    return {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: {
        name: r.short,
        namespace: project,
        uid: uidOf(revFull),
        generation: 1,
        labels: {
          'serving.knative.dev/service': r.service,
          'serving.knative.dev/configuration': r.service,
          'cloud.googleapis.com/location': region,
        },
      },
      spec: { containers: [{ name: r.containerName, image: r.image }] },
      status,
    };
  }

  private serviceActivity(
    rec: ServiceRec,
    method: string,
    api: 'v1' | 'v2',
    revision: string,
    operation?: { id: string; first?: boolean; last?: boolean },
  ): void {
    const { project, region, short } = rec;
    const resourceName =
      api === 'v1'
        ? `namespaces/${project}/services/${short}`
        : `projects/${project}/locations/${region}/services/${short}`;
    this.writeAudit(project, {
      logName: `projects/${project}/logs/cloudaudit.googleapis.com%2Factivity`,
      ...(operation === undefined ? {} : { operation: { producer: 'run.googleapis.com', ...operation } }),
      resource: {
        type: 'cloud_run_revision',
        labels: {
          project_id: project,
          location: region,
          service_name: short,
          revision_name: revision,
          configuration_name: '',
        },
      },
      severity: 'NOTICE',
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        serviceName: 'run.googleapis.com',
        methodName: `google.cloud.run.${api}.Services.${method}`,
        resourceName,
        resourceLocation: { currentLocations: [region] },
        request: {
          '@type': `type.googleapis.com/google.cloud.run.${api}.${method}Request`,
          name: resourceName,
        },
      },
    });
  }

  private readyEvent(rec: ServiceRec, rev: RevisionRec): void {
    const { project, region, short } = rec;
    const revFull = `projects/${project}/locations/${region}/services/${short}/revisions/${rev.short}`;
    const response = this.v1Revision(revFull) ?? {};
    response['@type'] = 'type.googleapis.com/google.cloud.run.v1.Revision';
    this.writeAudit(project, {
      logName: `projects/${project}/logs/cloudaudit.googleapis.com%2Fsystem_event`,
      resource: {
        type: 'cloud_run_revision',
        labels: {
          project_id: project,
          location: region,
          service_name: short,
          revision_name: rev.short,
          configuration_name: short,
        },
      },
      severity: 'INFO',
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        serviceName: 'run.googleapis.com',
        methodName: '/Services.ReplaceService',
        resourceName: `namespaces/${project}/revisions/${rev.short}`,
        status: {
          message: rev.failed
            ? `Ready condition status changed to False for Revision ${rev.short} with message: ${failureOf(rev)}`
            : `Ready condition status changed to True for Revision ${rev.short}.`,
        },
        response,
      },
    });
  }

  // ---------------------------------------------------------------- jobs

  createJob(project: string, region: string, name: string, image: string, opts: DeployOptions = {}) {
    this.addProject(project, [region]);
    const full = `projects/${project}/locations/${region}/jobs/${name}`;
    if (this.jobs.has(full)) throw new Error(`job ${full} exists`);
    const now = this.nowTs();
    this.jobs.set(full, {
      name: full,
      uid: uidOf(full),
      generation: '1',
      labels: { ...(opts.labels ?? {}) },
      create_time: now,
      update_time: now,
      template: { task_count: 1, template: { containers: [{ name: opts.containerName ?? '', image }] } },
      etag: '"1"',
    });
    if (!opts.silent)
      this.jobActivity(
        project,
        region,
        name,
        `google.cloud.run.${opts.api ?? 'v2'}.Jobs.CreateJob`,
        'activity',
      );
    return { job: full };
  }

  /** Starts an execution (RUNNING). Writes the data_access RunJob entry and the system event. */
  runJob(project: string, region: string, name: string, opts: Pick<DeployOptions, 'silent'> = {}) {
    const full = `projects/${project}/locations/${region}/jobs/${name}`;
    const job = this.jobs.get(full);
    if (!job) throw new Error(`no job ${name} in ${project}/${region}`);
    this.seq += 1;
    const execShort = `${name}-${createHash('sha256').update(`${full}/${this.seq}`).digest('hex').slice(0, 5)}`;
    const execFull = `${full}/executions/${execShort}`;
    const now = this.nowTs();
    const template = (job['template'] as Wire)['template'] as Wire;
    this.executions.set(execFull, {
      name: execFull,
      uid: uidOf(execFull),
      generation: '1',
      labels: { ...(job['labels'] as Record<string, string>) },
      create_time: now,
      start_time: now,
      update_time: now,
      job: name,
      template: { containers: template['containers'] },
      task_count: 1,
      running_count: 1,
      etag: '"1"',
    });
    job['latest_created_execution'] = { name: execShort, create_time: now };
    job['update_time'] = now;
    if (!opts.silent) {
      this.jobActivity(project, region, name, 'google.cloud.run.v2.Jobs.RunJob', 'data_access');
      this.jobActivity(project, region, name, '/Jobs.RunJob', 'system_event', {
        '@type': 'type.googleapis.com/google.cloud.run.v1.Execution',
        apiVersion: 'run.googleapis.com/v1',
        kind: 'Execution',
        metadata: { name: execShort, namespace: project },
      });
    }
    return { execution: execFull, executionShort: execShort };
  }

  completeExecution(executionFull: string, outcome: 'SUCCEEDED' | 'FAILED'): void {
    const e = this.executions.get(executionFull);
    if (!e) throw new Error(`no execution ${executionFull}`);
    const now = this.nowTs();
    Object.assign(e, {
      running_count: 0,
      succeeded_count: outcome === 'SUCCEEDED' ? 1 : 0,
      failed_count: outcome === 'FAILED' ? 1 : 0,
      completion_time: now,
      update_time: now,
      etag: '"2"',
    });
  }

  deleteJob(project: string, region: string, name: string, opts: Pick<DeployOptions, 'silent'> = {}): void {
    const full = `projects/${project}/locations/${region}/jobs/${name}`;
    if (!this.jobs.delete(full)) throw new Error(`no job ${name} in ${project}/${region}`);
    for (const k of [...this.executions.keys()]) if (k.startsWith(`${full}/`)) this.executions.delete(k);
    if (!opts.silent)
      this.jobActivity(project, region, name, 'google.cloud.run.v2.Jobs.DeleteJob', 'activity');
  }

  private jobActivity(
    project: string,
    region: string,
    name: string,
    methodName: string,
    log: string,
    response?: JsonObject,
  ): void {
    const payload: JsonObject = {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      serviceName: 'run.googleapis.com',
      methodName,
      resourceName: `projects/${project}/locations/${region}/jobs/${name}`,
    };
    if (response) payload['response'] = response;
    this.writeAudit(project, {
      logName: `projects/${project}/logs/cloudaudit.googleapis.com%2F${log}`,
      resource: { type: 'cloud_run_job', labels: { project_id: project, location: region, job_name: name } },
      protoPayload: payload,
    });
  }

  // ---------------------------------------------------------------- worker pools

  createWorkerPool(project: string, region: string, name: string, image: string, opts: DeployOptions = {}) {
    this.addProject(project, [region]);
    const full = `projects/${project}/locations/${region}/workerPools/${name}`;
    const now = this.nowTs();
    this.workerPools.set(full, {
      name: full,
      uid: uidOf(full),
      generation: '1',
      labels: { ...(opts.labels ?? {}) },
      create_time: now,
      update_time: now,
      template: { containers: [{ name: opts.containerName ?? '', image }] },
      etag: '"1"',
    });
    if (!opts.silent) {
      this.writeAudit(project, {
        logName: `projects/${project}/logs/cloudaudit.googleapis.com%2Factivity`,
        resource: {
          type: 'cloud_run_worker_pool',
          labels: { project_id: project, location: region, worker_pool_name: name },
        },
        protoPayload: {
          '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
          serviceName: 'run.googleapis.com',
          methodName: 'google.cloud.run.v2.WorkerPools.CreateWorkerPool',
          resourceName: full,
        },
      });
    }
    return { workerPool: full };
  }
}
