/**
 * The emulated ECS fleet of one account (all regions) and the "control plane" a test or demo scripts:
 * clusters, task definitions, services with a scheduler, tasks, container instances.
 *
 * Promise, as in AWS: user API calls (createService, updateService, runTask, stopTask, ...) are
 * recorded in CloudTrail as write events; what the service scheduler does on its own (starting the
 * tasks of a new or updated service, scaling from autoscaling, replacing unhealthy tasks) is NOT.
 * Deleted clusters/services stay describable as INACTIVE; stopped tasks stay describable for an hour.
 * The clock is injected (`now`), so tests run on virtual or warped time.
 */
import { createHash } from 'node:crypto';
import type { CloudTrailLog } from '../../aws/emulator/cloudtrail-log.js';

export interface Tag {
  key: string;
  value: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
}

export interface EmuTaskDefinition {
  arn: string;
  family: string;
  revision: number;
  region: string;
  status: 'ACTIVE' | 'INACTIVE';
  containers: ContainerSpec[];
  registeredAtMs: number;
}

export interface EmuDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  createdAtMs: number;
  updatedAtMs: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED';
}

export interface EmuService {
  arn: string;
  name: string;
  clusterArn: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  taskDefinition: string;
  desiredCount: number;
  launchType: 'EC2' | 'FARGATE';
  deployments: EmuDeployment[];
  tags: Tag[];
  createdAtMs: number;
}

export interface EmuContainer {
  containerArn: string;
  name: string;
  image: string;
  imageDigest?: string;
  runtimeId: string;
  lastStatus: string;
}

export interface EmuTask {
  arn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  group: string;
  startedBy?: string;
  lastStatus: string;
  desiredStatus: string;
  version: number;
  launchType: 'EC2' | 'FARGATE';
  platformVersion?: string;
  containerInstanceArn?: string;
  availabilityZone: string;
  createdAtMs: number;
  startedAtMs?: number;
  stoppedAtMs?: number;
  stoppedReason?: string;
  tags: Tag[];
  containers: EmuContainer[];
}

export interface EmuContainerInstance {
  arn: string;
  clusterArn: string;
  ec2InstanceId: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  agentVersion: string;
  dockerVersion: string;
  instanceType: string;
  amiId: string;
  availabilityZone: string;
  osType: string;
  version: number;
  registeredAtMs: number;
  tags: Tag[];
}

export interface EmuCluster {
  arn: string;
  name: string;
  region: string;
  status: 'ACTIVE' | 'INACTIVE';
  tags: Tag[];
  capacityProviders: string[];
  containerInsights: 'enabled' | 'disabled';
  services: Map<string, EmuService>;
  tasks: Map<string, EmuTask>;
  containerInstances: Map<string, EmuContainerInstance>;
}

/** Stopped tasks stay describable this long (AWS: at least an hour). */
export const STOPPED_TASK_RETENTION_MS = 60 * 60 * 1000;

export interface FleetOptions {
  account: string;
  region: string;
  now: () => number;
  trail: CloudTrailLog;
}

export interface CreateServiceInput {
  cluster: string;
  name: string;
  taskDefinition: string;
  desiredCount: number;
  launchType?: 'EC2' | 'FARGATE';
  tags?: Record<string, string>;
  region?: string;
}

export interface GenerateInput {
  region?: string;
  clusters: number;
  servicesPerCluster: number;
  tasksPerService: number;
  taskDefinitions: number;
  containerInstancesPerCluster: number;
  standaloneTasksPerCluster?: number;
  /** Record CloudTrail events for the generated resources (default false: created long ago). */
  recordEvents?: boolean;
}

/** Told of what ECS would announce on EventBridge (eventbridge.ts), when one is attached. */
export interface FleetObserver {
  task(t: EmuTask): void;
  deployment(s: EmuService, eventName: string, deploymentId: string): void;
  containerInstance(ci: EmuContainerInstance): void;
}

export class Fleet {
  /** Sees every task, deployment and container instance change from now on (EventBridge). */
  observer: FleetObserver | undefined;
  readonly account: string;
  readonly defaultRegion: string;
  private readonly clusters = new Map<string, EmuCluster>(); // by ARN
  private readonly taskDefs = new Map<string, EmuTaskDefinition>(); // by ARN
  private readonly familyRevisions = new Map<string, number>();
  private readonly digests = new Map<string, string | null>();
  private counter = 0;
  private readonly now: () => number;
  private readonly trail: CloudTrailLog;

  constructor(options: FleetOptions) {
    this.account = options.account;
    this.defaultRegion = options.region;
    this.now = options.now;
    this.trail = options.trail;
  }

  // ---- naming ----------------------------------------------------------------------------------

  arn(region: string, resource: string): string {
    return `arn:${partitionOf(region)}:ecs:${region}:${this.account}:${resource}`;
  }

  private hex(n: number): string {
    this.counter++;
    return createHash('sha256').update(`${this.account}:${this.counter}`).digest('hex').slice(0, n);
  }

  private digits(n: number): string {
    return BigInt(`0x${this.hex(16)}`)
      .toString()
      .padStart(n, '0')
      .slice(0, n);
  }

  // ---- lookups used by the API layer -----------------------------------------------------------

  clustersIn(region: string): EmuCluster[] {
    return [...this.clusters.values()].filter((c) => c.region === region);
  }

  /** Resolves a cluster name or ARN (`default` when absent) in a region. */
  findCluster(region: string, ref: string | undefined): EmuCluster | undefined {
    const r = ref ?? 'default';
    if (r.startsWith('arn:')) return this.clusters.get(r);
    return this.clusters.get(this.arn(region, `cluster/${r}`));
  }

  findTaskDefinition(region: string, ref: string): EmuTaskDefinition | undefined {
    if (ref.startsWith('arn:')) return this.taskDefs.get(ref);
    const [family, rev] = ref.split(':');
    if (family === undefined) return undefined;
    const revision = rev !== undefined ? Number(rev) : this.familyRevisions.get(`${region}/${family}`);
    if (revision === undefined) return undefined;
    return this.taskDefs.get(this.arn(region, `task-definition/${family}:${revision}`));
  }

  allTaskDefinitions(): EmuTaskDefinition[] {
    return [...this.taskDefs.values()];
  }

  /** Stopped tasks past retention are forgotten. */
  expireStoppedTasks(): void {
    const cutoff = this.now() - STOPPED_TASK_RETENTION_MS;
    for (const c of this.clusters.values()) {
      for (const [arn, t] of c.tasks) {
        if (t.lastStatus === 'STOPPED' && (t.stoppedAtMs ?? 0) < cutoff) c.tasks.delete(arn);
      }
    }
  }

  // ---- images ----------------------------------------------------------------------------------

  /** The digest the registry currently serves for an image reference (null: none reported). */
  digestOf(image: string): string | null {
    const known = this.digests.get(image);
    if (known !== undefined) return known;
    const d = `sha256:${createHash('sha256').update(`image:${image}`).digest('hex')}`;
    this.digests.set(image, d);
    return d;
  }

  /** Sets what the registry serves for `image`: a new digest (a tag moved) or null (digest not reported). */
  setImageDigest(image: string, digest: string | null): void {
    this.digests.set(image, digest);
  }

  /** Moves `image`'s tag to a new digest (a push); returns the new digest. */
  pushImage(image: string): string {
    const d = `sha256:${createHash('sha256')
      .update(`image:${image}:${this.hex(8)}`)
      .digest('hex')}`;
    this.digests.set(image, d);
    return d;
  }

  // ---- control plane (write calls, recorded in CloudTrail) --------------------------------------

  createCluster(input: {
    name: string;
    region?: string;
    tags?: Record<string, string>;
    capacityProviders?: string[];
    recordEvent?: boolean;
  }): EmuCluster {
    const region = input.region ?? this.defaultRegion;
    const arn = this.arn(region, `cluster/${input.name}`);
    const existing = this.clusters.get(arn);
    if (existing && existing.status === 'ACTIVE') return existing;
    const c: EmuCluster = {
      arn,
      name: input.name,
      region,
      status: 'ACTIVE',
      tags: toTags(input.tags),
      capacityProviders: input.capacityProviders ?? ['FARGATE', 'FARGATE_SPOT'],
      containerInsights: 'disabled',
      services: new Map(),
      tasks: new Map(),
      containerInstances: new Map(),
    };
    this.clusters.set(arn, c);
    if (input.recordEvent !== false) {
      this.trail.record({
        region,
        eventName: 'CreateCluster',
        readOnly: false,
        requestParameters: { clusterName: input.name, tags: c.tags },
        responseElements: { cluster: { clusterArn: arn, clusterName: input.name, status: 'ACTIVE' } },
      });
    }
    return c;
  }

  deleteCluster(name: string, region = this.defaultRegion): void {
    const c = this.mustCluster(region, name);
    for (const s of c.services.values()) if (s.status === 'ACTIVE') this.removeService(c, s);
    for (const t of c.tasks.values()) if (t.lastStatus !== 'STOPPED') this.stop(t, 'Cluster deleted');
    c.containerInstances.clear();
    c.status = 'INACTIVE';
    this.trail.record({
      region,
      eventName: 'DeleteCluster',
      readOnly: false,
      requestParameters: { cluster: name },
      responseElements: { cluster: { clusterArn: c.arn, clusterName: c.name, status: 'INACTIVE' } },
    });
  }

  tagResource(resourceArn: string, tags: Record<string, string>, region = this.defaultRegion): void {
    const add = toTags(tags);
    const merge = (list: Tag[]): Tag[] => {
      const m = new Map(list.map((t) => [t.key, t.value]));
      for (const t of add) m.set(t.key, t.value);
      return [...m].map(([key, value]) => ({ key, value }));
    };
    for (const c of this.clusters.values()) {
      if (c.arn === resourceArn) c.tags = merge(c.tags);
      for (const s of c.services.values()) if (s.arn === resourceArn) s.tags = merge(s.tags);
      const t = c.tasks.get(resourceArn);
      if (t) {
        t.tags = merge(t.tags);
        t.version++;
      }
      const ci = c.containerInstances.get(resourceArn);
      if (ci) ci.tags = merge(ci.tags);
    }
    this.trail.record({
      region,
      eventName: 'TagResource',
      readOnly: false,
      requestParameters: { resourceArn, tags: add },
      responseElements: {},
    });
  }

  registerTaskDefinition(input: {
    family: string;
    containers: ContainerSpec[];
    region?: string;
    recordEvent?: boolean;
  }): EmuTaskDefinition {
    const region = input.region ?? this.defaultRegion;
    const key = `${region}/${input.family}`;
    const revision = (this.familyRevisions.get(key) ?? 0) + 1;
    this.familyRevisions.set(key, revision);
    const td: EmuTaskDefinition = {
      arn: this.arn(region, `task-definition/${input.family}:${revision}`),
      family: input.family,
      revision,
      region,
      status: 'ACTIVE',
      containers: input.containers.map((c) => ({ ...c })),
      registeredAtMs: this.now(),
    };
    this.taskDefs.set(td.arn, td);
    if (input.recordEvent !== false) {
      this.trail.record({
        region,
        eventName: 'RegisterTaskDefinition',
        readOnly: false,
        requestParameters: { family: input.family, containerDefinitions: input.containers },
        responseElements: { taskDefinition: { taskDefinitionArn: td.arn, family: td.family, revision } },
      });
    }
    return td;
  }

  registerContainerInstance(input: {
    cluster: string;
    region?: string;
    instanceType?: string;
    agentVersion?: string;
    dockerVersion?: string;
    amiId?: string;
    availabilityZone?: string;
    recordEvent?: boolean;
  }): EmuContainerInstance {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const ci: EmuContainerInstance = {
      arn: this.arn(region, `container-instance/${c.name}/${this.hex(32)}`),
      clusterArn: c.arn,
      ec2InstanceId: `i-${this.hex(17)}`,
      status: 'ACTIVE',
      agentVersion: input.agentVersion ?? '1.82.0',
      dockerVersion: input.dockerVersion ?? 'DockerVersion: 20.10.25',
      instanceType: input.instanceType ?? 'm6i.large',
      amiId: input.amiId ?? 'ami-0abcdef1234567890',
      availabilityZone: input.availabilityZone ?? `${region}a`,
      osType: 'linux',
      version: 1,
      registeredAtMs: this.now(),
      tags: [],
    };
    c.containerInstances.set(ci.arn, ci);
    this.observer?.containerInstance(ci);
    if (input.recordEvent !== false) {
      this.trail.record({
        region,
        eventName: 'RegisterContainerInstance',
        readOnly: false,
        requestParameters: { cluster: c.name, instanceIdentityDocument: '{}' },
        responseElements: {
          containerInstance: { containerInstanceArn: ci.arn, ec2InstanceId: ci.ec2InstanceId },
        },
      });
    }
    return ci;
  }

  deregisterContainerInstance(
    cluster: string,
    containerInstanceArn: string,
    region = this.defaultRegion,
  ): void {
    const c = this.mustCluster(region, cluster);
    const ci = c.containerInstances.get(containerInstanceArn);
    if (!ci) throw new Error(`no container instance ${containerInstanceArn}`);
    c.containerInstances.delete(containerInstanceArn);
    ci.status = 'INACTIVE';
    ci.version++;
    this.observer?.containerInstance(ci);
    this.trail.record({
      region,
      eventName: 'DeregisterContainerInstance',
      readOnly: false,
      requestParameters: { cluster: c.name, containerInstance: containerInstanceArn, force: true },
      responseElements: { containerInstance: { containerInstanceArn, status: 'INACTIVE' } },
    });
  }

  createService(input: CreateServiceInput & { recordEvent?: boolean }): EmuService {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const td = this.mustTaskDef(region, input.taskDefinition);
    const now = this.now();
    const s: EmuService = {
      arn: this.arn(region, `service/${c.name}/${input.name}`),
      name: input.name,
      clusterArn: c.arn,
      status: 'ACTIVE',
      taskDefinition: td.arn,
      desiredCount: input.desiredCount,
      launchType: input.launchType ?? (c.containerInstances.size > 0 ? 'EC2' : 'FARGATE'),
      deployments: [this.newDeployment(td.arn, input.desiredCount)],
      tags: toTags(input.tags),
      createdAtMs: now,
    };
    c.services.set(s.name, s);
    if (input.recordEvent !== false) {
      this.trail.record({
        region,
        eventName: 'CreateService',
        readOnly: false,
        requestParameters: {
          cluster: c.name,
          serviceName: s.name,
          taskDefinition: input.taskDefinition,
          desiredCount: s.desiredCount,
        },
        responseElements: {
          service: { serviceArn: s.arn, serviceName: s.name, clusterArn: c.arn, status: 'ACTIVE' },
        },
      });
    }
    this.reconcile(c, s);
    return s;
  }

  /**
   * UpdateService (recorded). A new task definition starts a new PRIMARY deployment; the scheduler
   * replaces the tasks without RunTask/StopTask events and (completeRollout, default) retires the old deployment.
   */
  updateService(input: {
    cluster: string;
    service: string;
    taskDefinition?: string;
    desiredCount?: number;
    region?: string;
    completeRollout?: boolean;
  }): EmuService {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const s = this.mustService(c, input.service);
    const params: Record<string, unknown> = { cluster: c.name, service: s.name };
    if (input.desiredCount !== undefined) {
      s.desiredCount = input.desiredCount;
      params['desiredCount'] = input.desiredCount;
      for (const d of s.deployments) if (d.status === 'PRIMARY') d.desiredCount = input.desiredCount;
    }
    if (input.taskDefinition !== undefined) {
      const td = this.mustTaskDef(region, input.taskDefinition);
      params['taskDefinition'] = input.taskDefinition;
      s.taskDefinition = td.arn;
      for (const d of s.deployments) {
        d.status = 'ACTIVE';
        d.updatedAtMs = this.now();
      }
      s.deployments.unshift(this.newDeployment(td.arn, s.desiredCount));
      const primary = s.deployments[0];
      if (primary) this.observer?.deployment(s, 'SERVICE_DEPLOYMENT_IN_PROGRESS', primary.id);
    }
    this.trail.record({
      region,
      eventName: 'UpdateService',
      readOnly: false,
      requestParameters: params,
      responseElements: { service: { serviceArn: s.arn, serviceName: s.name, clusterArn: c.arn } },
    });
    if (input.completeRollout !== false) this.completeRollout(c, s);
    else this.reconcile(c, s);
    return s;
  }

  /** Finishes in-progress rollouts of a service (scheduler work: no CloudTrail events). */
  completeRollouts(cluster: string, service: string, region = this.defaultRegion): void {
    const c = this.mustCluster(region, cluster);
    this.completeRollout(c, this.mustService(c, service));
  }

  /** Changes desiredCount. `cloudTrail: false` models scaling the trail does not show as ECS writes. */
  scaleService(input: {
    cluster: string;
    service: string;
    desiredCount: number;
    region?: string;
    cloudTrail?: boolean;
  }): void {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const s = this.mustService(c, input.service);
    s.desiredCount = input.desiredCount;
    for (const d of s.deployments) if (d.status === 'PRIMARY') d.desiredCount = input.desiredCount;
    if (input.cloudTrail !== false) {
      this.trail.record({
        region,
        eventName: 'UpdateService',
        readOnly: false,
        requestParameters: { cluster: c.name, service: s.name, desiredCount: input.desiredCount },
        responseElements: { service: { serviceArn: s.arn, serviceName: s.name, clusterArn: c.arn } },
      });
    }
    this.reconcile(c, s);
  }

  /** The scheduler replaces `count` running tasks of a service (health checks): no CloudTrail events. */
  replaceServiceTasks(input: { cluster: string; service: string; count?: number; region?: string }): {
    stopped: string[];
    started: string[];
  } {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const s = this.mustService(c, input.service);
    const running = this.serviceTasks(c, s).slice(0, input.count ?? 1);
    for (const t of running) this.stop(t, 'Task failed ELB health checks');
    const before = new Set(c.tasks.keys());
    this.reconcile(c, s);
    return { stopped: running.map((t) => t.arn), started: [...c.tasks.keys()].filter((k) => !before.has(k)) };
  }

  deleteService(input: { cluster: string; service: string; region?: string }): void {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const s = this.mustService(c, input.service);
    this.removeService(c, s);
    this.trail.record({
      region,
      eventName: 'DeleteService',
      readOnly: false,
      requestParameters: { cluster: c.name, service: s.name, force: true },
      responseElements: {
        service: { serviceArn: s.arn, serviceName: s.name, clusterArn: c.arn, status: 'DRAINING' },
      },
    });
  }

  runTask(input: {
    cluster: string;
    taskDefinition: string;
    count?: number;
    startedBy?: string;
    group?: string;
    launchType?: 'EC2' | 'FARGATE';
    tags?: Record<string, string>;
    region?: string;
  }): EmuTask[] {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const td = this.mustTaskDef(region, input.taskDefinition);
    const tasks: EmuTask[] = [];
    for (let i = 0; i < (input.count ?? 1); i++) {
      tasks.push(
        this.start(c, td, {
          group: input.group ?? `family:${td.family}`,
          ...(input.startedBy !== undefined ? { startedBy: input.startedBy } : {}),
          launchType: input.launchType ?? (c.containerInstances.size > 0 ? 'EC2' : 'FARGATE'),
          tags: toTags(input.tags),
        }),
      );
    }
    this.trail.record({
      region,
      eventName: 'RunTask',
      readOnly: false,
      requestParameters: { cluster: c.name, taskDefinition: input.taskDefinition, count: tasks.length },
      responseElements: {
        tasks: tasks.map((t) => ({ taskArn: t.arn, clusterArn: c.arn, lastStatus: 'PROVISIONING' })),
        failures: [],
      },
    });
    return tasks;
  }

  stopTask(input: { cluster: string; task: string; region?: string; reason?: string }): void {
    const region = input.region ?? this.defaultRegion;
    const c = this.mustCluster(region, input.cluster);
    const t = this.findTask(c, input.task);
    if (!t) throw new Error(`no task ${input.task}`);
    this.stop(t, input.reason ?? 'Task stopped by user');
    this.trail.record({
      region,
      eventName: 'StopTask',
      readOnly: false,
      requestParameters: { cluster: c.name, task: input.task, reason: t.stoppedReason },
      responseElements: { task: { taskArn: t.arn, clusterArn: c.arn, desiredStatus: 'STOPPED' } },
    });
  }

  /** Builds a large fleet quickly (by default without CloudTrail events: "created long ago"). */
  generate(input: GenerateInput): { clusters: EmuCluster[]; taskDefinitions: EmuTaskDefinition[] } {
    const region = input.region ?? this.defaultRegion;
    const record = input.recordEvents === true;
    const tds: EmuTaskDefinition[] = [];
    for (let i = 0; i < input.taskDefinitions; i++) {
      tds.push(
        this.registerTaskDefinition({
          family: `app-${i}`,
          region,
          recordEvent: record,
          containers: [
            { name: 'app', image: `${this.account}.dkr.ecr.${region}.amazonaws.com/app-${i}:1.${i % 7}` },
            ...(i % 3 === 0
              ? [{ name: 'sidecar', image: 'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0' }]
              : []),
          ],
        }),
      );
    }
    const clusters: EmuCluster[] = [];
    let tdIndex = 0;
    for (let ci = 0; ci < input.clusters; ci++) {
      const c = this.createCluster({
        name: `cluster-${ci}`,
        region,
        tags: { team: `team-${ci % 4}`, env: ci % 2 === 0 ? 'prod' : 'staging' },
        recordEvent: record,
      });
      clusters.push(c);
      for (let n = 0; n < input.containerInstancesPerCluster; n++) {
        this.registerContainerInstance({ cluster: c.name, region, recordEvent: record });
      }
      for (let s = 0; s < input.servicesPerCluster; s++) {
        const td = tds[tdIndex++ % Math.max(1, tds.length)];
        if (!td) break;
        this.createService({
          cluster: c.name,
          name: `svc-${s}`,
          region,
          taskDefinition: td.arn,
          desiredCount: input.tasksPerService,
          tags: { owner: `team-${s % 5}` },
          recordEvent: record,
        });
      }
      const standalone = input.standaloneTasksPerCluster ?? 0;
      const td = tds[ci % Math.max(1, tds.length)];
      if (td) {
        for (let k = 0; k < standalone; k++) {
          this.start(c, td, {
            group: `family:${td.family}`,
            startedBy: 'batch-runner',
            launchType: 'FARGATE',
            tags: [],
          });
        }
      }
    }
    return { clusters, taskDefinitions: tds };
  }

  // ---- scheduler internals ----------------------------------------------------------------------

  private newDeployment(taskDefinition: string, desiredCount: number): EmuDeployment {
    const now = this.now();
    return {
      id: `ecs-svc/${this.digits(19)}`,
      status: 'PRIMARY',
      taskDefinition,
      desiredCount,
      createdAtMs: now,
      updatedAtMs: now,
      rolloutState: 'IN_PROGRESS',
    };
  }

  serviceTasks(c: EmuCluster, s: EmuService): EmuTask[] {
    return [...c.tasks.values()].filter(
      (t) => t.group === `service:${s.name}` && t.desiredStatus === 'RUNNING',
    );
  }

  /** Starts/stops tasks of the PRIMARY deployment until it runs desiredCount tasks. */
  private reconcile(c: EmuCluster, s: EmuService): void {
    const primary = s.deployments.find((d) => d.status === 'PRIMARY');
    if (!primary || s.status !== 'ACTIVE') return;
    const td = this.taskDefs.get(primary.taskDefinition);
    if (!td) return;
    const mine = this.serviceTasks(c, s).filter((t) => t.startedBy === primary.id);
    for (let i = mine.length; i < s.desiredCount; i++) {
      this.start(c, td, {
        group: `service:${s.name}`,
        startedBy: primary.id,
        launchType: s.launchType,
        tags: [],
      });
    }
    for (const t of mine.slice(s.desiredCount)) this.stop(t, 'Scaling activity initiated by deployment');
    primary.updatedAtMs = this.now();
    if (s.deployments.length === 1) primary.rolloutState = 'COMPLETED';
  }

  private completeRollout(c: EmuCluster, s: EmuService): void {
    const primary = s.deployments.find((d) => d.status === 'PRIMARY');
    if (!primary) return;
    for (const t of this.serviceTasks(c, s)) {
      if (t.startedBy !== primary.id) this.stop(t, 'Scaling activity initiated by deployment');
    }
    s.deployments = [primary];
    this.reconcile(c, s);
    primary.rolloutState = 'COMPLETED';
    primary.updatedAtMs = this.now();
    this.observer?.deployment(s, 'SERVICE_DEPLOYMENT_COMPLETED', primary.id);
  }

  private removeService(c: EmuCluster, s: EmuService): void {
    for (const t of this.serviceTasks(c, s)) this.stop(t, 'Service deleted');
    s.status = 'INACTIVE';
    s.desiredCount = 0;
    s.deployments = [];
  }

  private start(
    c: EmuCluster,
    td: EmuTaskDefinition,
    opts: { group: string; startedBy?: string; launchType: 'EC2' | 'FARGATE'; tags: Tag[] },
  ): EmuTask {
    const now = this.now();
    const id = this.hex(32);
    const instances = [...c.containerInstances.values()].filter((i) => i.status === 'ACTIVE');
    const onEc2 = opts.launchType === 'EC2' && instances.length > 0;
    const ci = onEc2 ? instances[c.tasks.size % instances.length] : undefined;
    const arn = this.arn(c.region, `task/${c.name}/${id}`);
    const task: EmuTask = {
      arn,
      clusterArn: c.arn,
      taskDefinitionArn: td.arn,
      group: opts.group,
      ...(opts.startedBy !== undefined ? { startedBy: opts.startedBy } : {}),
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3,
      launchType: ci ? 'EC2' : 'FARGATE',
      ...(ci ? { containerInstanceArn: ci.arn } : { platformVersion: '1.4.0' }),
      availabilityZone: ci?.availabilityZone ?? `${c.region}b`,
      createdAtMs: now,
      startedAtMs: now,
      tags: opts.tags,
      containers: td.containers.map((spec) => {
        const digest = this.digestOf(spec.image);
        // ECS agent >= 1.83 may report the digest in place of the tag.
        const showsDigest =
          ci !== undefined && compareVersions(ci.agentVersion, '1.83.0') >= 0 && digest !== null;
        const repo = stripTagAndDigest(spec.image);
        const container: EmuContainer = {
          containerArn: this.arn(c.region, `container/${c.name}/${id}/${this.hex(36)}`),
          name: spec.name,
          image: showsDigest ? `${repo}@${digest}` : spec.image,
          runtimeId: `${id}-${this.hex(10)}`,
          lastStatus: 'RUNNING',
        };
        if (digest !== null) container.imageDigest = digest;
        return container;
      }),
    };
    c.tasks.set(arn, task);
    this.observer?.task(task);
    return task;
  }

  private stop(t: EmuTask, reason: string): void {
    if (t.lastStatus === 'STOPPED') return;
    t.desiredStatus = 'STOPPED';
    t.lastStatus = 'STOPPED';
    t.stoppedAtMs = this.now();
    t.stoppedReason = reason;
    t.version++;
    for (const c of t.containers) c.lastStatus = 'STOPPED';
    this.observer?.task(t);
  }

  findTask(c: EmuCluster, ref: string): EmuTask | undefined {
    if (ref.startsWith('arn:')) return c.tasks.get(ref);
    for (const t of c.tasks.values()) if (t.arn.endsWith(`/${ref}`)) return t;
    return undefined;
  }

  private mustCluster(region: string, ref: string): EmuCluster {
    const c = this.findCluster(region, ref);
    if (!c || c.status !== 'ACTIVE') throw new Error(`no active cluster ${ref} in ${region}`);
    return c;
  }

  private mustService(c: EmuCluster, ref: string): EmuService {
    const name = ref.startsWith('arn:') ? (ref.split('/').pop() ?? ref) : ref;
    const s = c.services.get(name);
    if (!s || s.status !== 'ACTIVE') throw new Error(`no active service ${ref} in ${c.name}`);
    return s;
  }

  private mustTaskDef(region: string, ref: string): EmuTaskDefinition {
    const td = this.findTaskDefinition(region, ref);
    if (!td) throw new Error(`no task definition ${ref}`);
    return td;
  }
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function toTags(tags: Record<string, string> | Tag[] | undefined): Tag[] {
  if (!tags) return [];
  if (Array.isArray(tags)) return tags.map((t) => ({ ...t }));
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

function stripTagAndDigest(image: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return colon > slash ? base.slice(0, colon) : base;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
