/**
 * Which resource a key of a Cloud Run project source names. A workload key is a hash of the
 * resource's full name, so the name is read back from what the engine's store holds for the key
 * (the object's cluster, name, kind and owner spell it); a cluster or namespace key is recomputed
 * from the project's regions. A key the store does not hold yet (announced by a hint, a parent or a
 * cheap poll) travels with its full resource name (`named`, the engine's NamedKey), which the
 * engine hands back with the read: nothing here keeps a name of its own.
 *
 * Failure: never throws; a key it cannot read back resolves to undefined (reported gone), and so
 * does a name that is not this project's or does not hash to the key.
 */
import type { ClusterObject } from '../../src/model/index.js';
import { objectKey } from '../../src/model/index.js';
import type { Indexers, WatchStore } from '../../src/watch/source.js';
import { emptyWatchStore } from '../../src/watch/source.js';
import type { RunResourceRef } from './names.js';
import { parseResourceName, resourceName } from './names.js';
import { clusterKey, namespaceKey, workloadKey } from './normalizer.js';
import type { ProjectScope } from './project-scope.js';

export type KeyRef = { kind: 'cluster' | 'namespace'; region: string } | RunResourceRef;

/** The store index of a workload's owners: a revision is filed under its service's key, an execution under its job's. */
export const OWNER_INDEX = 'owner';

export const projectIndexers: Indexers<ClusterObject> = {
  [OWNER_INDEX]: (obj) =>
    obj.kind === 'workload'
      ? obj.workload.owners.map((o) => `workload/${obj.workload.clusterId}/${o.uid}`)
      : [],
};

const NATIVE_KINDS: Record<string, RunResourceRef['kind']> = {
  'run.googleapis.com/Service': 'service',
  'run.googleapis.com/Revision': 'revision',
  'run.googleapis.com/Job': 'job',
  'run.googleapis.com/Execution': 'execution',
  'run.googleapis.com/WorkerPool': 'workerPool',
};

export class KeyNames {
  private store: WatchStore<ClusterObject> = emptyWatchStore();

  constructor(private readonly scope: ProjectScope) {}

  attach(store: WatchStore<ClusterObject>): void {
    this.store = store;
  }

  /** Keys of the store's objects owned by the object under `key`. */
  ownedBy(key: string): ReadonlySet<string> {
    return this.store.byIndex(OWNER_INDEX, key);
  }

  /** The key of `ref`. */
  keyOf(ref: RunResourceRef): string {
    return workloadKey(ref.project, ref.region, resourceName(ref));
  }

  /** The key of `ref` with its full resource name, for the engine to hand back with the read. */
  named(ref: RunResourceRef): { key: string; ref: string } {
    const name = resourceName(ref);
    return { key: workloadKey(ref.project, ref.region, name), ref: name };
  }

  /** The resource `key` names: from the store, else from `name` (given with the key), else a cluster or namespace. */
  async resolve(key: string, name?: string): Promise<KeyRef | undefined> {
    const obj = this.store.get(key);
    if (obj !== undefined && obj.kind === 'workload') return this.refOf(obj);
    if (name !== undefined) {
      const ref = parseResourceName(name);
      if (ref !== undefined && ref.project === this.scope.project && this.keyOf(ref) === key) return ref;
    }
    const project = this.scope.project;
    for (const region of await this.scope.regions()) {
      if (key === clusterKey(project, region)) return { kind: 'cluster', region };
      if (key === namespaceKey(project, region)) return { kind: 'namespace', region };
    }
    return undefined;
  }

  /** The resource a workload of this project is (its cluster, kind, name and owner spell it). */
  async refOf(obj: ClusterObject): Promise<RunResourceRef | undefined> {
    if (obj.kind !== 'workload') return undefined;
    const w = obj.workload;
    const project = this.scope.project;
    const region = await this.scope.regionOfCluster(w.clusterId);
    const kind = NATIVE_KINDS[w.nativeKind];
    if (region === undefined || kind === undefined) return undefined;
    const owner = w.owners[0]?.name ?? '';
    let ref: RunResourceRef;
    if (kind === 'revision') ref = { kind, project, region, service: owner, name: w.name };
    else if (kind === 'execution') ref = { kind, project, region, job: owner, name: w.name };
    else ref = { kind, project, region, name: w.name };
    return workloadKey(project, region, resourceName(ref)) === objectKey(obj) ? ref : undefined;
  }
}
