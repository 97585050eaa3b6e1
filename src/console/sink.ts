/**
 * ConsoleSink: where the watch engine delivers events. `handle` is synchronous and durable on
 * return: ONE SQLite transaction writes the outbox row(s) for the console AND the source's snapshot
 * row / cursor, so after a kill -9 the database has both or neither. The ConsoleClient sends the
 * outbox later; the engine restores from the snapshots (`StateDatabase.loadCheckpoint`).
 *
 * Mapping: cluster ADDED/MODIFIED → registration, cluster DELETED → deregistration; workloads,
 * namespaces, nodes → sighting upserts / deletions (with first/last seen per workload and per image);
 * BOOKMARK and RELIST done → cursor only. An ADDED/MODIFIED whose content equals the snapshot (e.g.
 * replayed after a restart) only moves the cursor. The snapshot keeps the hash and order the event
 * carries (the engine's, from the source's hashOf / orderOf; objectHash when an event has none), so
 * a restarted engine compares like with like and keeps the per-key order. `activity` records a
 * heartbeat, coalesced per (cluster, controller). `resync` appends the full-state resync a fresh or
 * rebuilt state database owes the console (ResyncCluster rows, one cluster at a time).
 *
 * Failure: if SQLite throws (disk full, database closed) the transaction rolls back, nothing is
 * half-written, and the error propagates to the caller, which must retry or relist (the watch
 * engine's delivery queue retries with backoff, holding the newest state per key: the pipeline
 * pauses). `activity` never throws: it keeps refused activity in memory and retries with backoff.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { Backoff } from '../runtime/backoff.js';
import type { Logger } from 'pino';
import type { AgentActivity, ClusterObject, ContainerImage } from '../model/index.js';
import { objectHash, objectKey } from '../model/index.js';
import type { WatchEvent } from '../watch/events.js';
import { systemScheduler } from '../runtime/clock.js';
import type { StateDatabase } from '../state/database.js';
import type { OutboxRpc } from '../state/outbox-row.js';
import type { DeregisterClustersRequest, ObjectRef, ResyncClusterRequest, Sighting } from './wire-types.js';

/** Object ids per ResyncCluster part (~40 bytes each on the wire: well under a batch's size). */
export const RESYNC_PART_MAX_IDS = 5_000;

const WIRE_TYPE = { workload: 'WORKLOAD', namespace: 'NAMESPACE', node: 'NODE' } as const;
import {
  imageSeenKey,
  toNamespaceSighting,
  toNodeSighting,
  toRegistration,
  toWorkloadSighting,
} from './wire-mapping.js';

export interface ConsoleSinkDeps {
  logger: Logger;
  scheduler?: SchedulerLike;
}

export class ConsoleSink {
  private readonly scheduler: SchedulerLike;
  /** Activity the database refused, newest per (cluster, controller), until a retry writes it. */
  private readonly unsavedActivity = new Map<string, AgentActivity>();
  private retryActivity: Subscription | undefined;
  private readonly activityBackoff: Backoff;

  constructor(
    private readonly db: StateDatabase,
    private readonly deps: ConsoleSinkDeps,
  ) {
    this.scheduler = deps.scheduler ?? systemScheduler;
    this.activityBackoff = new Backoff({}, this.scheduler);
  }

  handle(event: WatchEvent<ClusterObject>): void {
    const appended = this.db.transaction(() => this.apply(event));
    if (appended) this.db.outbox.notify();
  }

  /**
   * Records the controller's activity on a cluster (moves LAST SEEN); coalesced until sent. Never
   * throws: when the database refuses the write (disk full, read-only) the newest activity per
   * (cluster, controller) is kept in memory and written on a retry with backoff.
   */
  activity(a: AgentActivity): void {
    if (this.unsavedActivity.size === 0) {
      try {
        this.db.transaction(() =>
          this.db.activity.record(a.clusterId, a.controllerName, a.profile, a.lastSeenMs),
        );
        return;
      } catch (err) {
        if (this.db.closed) return;
        this.deps.logger.debug({ err }, 'could not record activity; keeping it and retrying');
      }
    }
    const k = `${a.clusterId}\u0000${a.controllerName}`;
    const prev = this.unsavedActivity.get(k);
    if (prev === undefined || prev.lastSeenMs <= a.lastSeenMs) this.unsavedActivity.set(k, a);
    this.retryActivity ??= this.scheduler.schedule(() => this.flushActivity(), this.activityBackoff.next());
  }

  /** Cancels a pending activity retry (at shutdown; unsaved activity is a coalesced LAST SEEN, refreshed by the next poll). */
  close(): void {
    this.retryActivity?.unsubscribe();
    this.retryActivity = undefined;
  }

  private flushActivity(): void {
    this.retryActivity = undefined;
    if (this.db.closed) return;
    try {
      this.db.transaction(() => {
        for (const a of this.unsavedActivity.values())
          this.db.activity.record(a.clusterId, a.controllerName, a.profile, a.lastSeenMs);
      });
      this.unsavedActivity.clear();
    } catch {
      this.retryActivity = this.scheduler.schedule(() => this.flushActivity(), this.activityBackoff.next());
    }
  }

  /** Queues the deregistration of every cluster of an account (uninstall from the whole account). */
  deregisterAccount(account: string): void {
    const payload: Omit<DeregisterClustersRequest, 'batch_id'> = { cluster_ids: [], account };
    this.db.transaction(() => {
      this.db.outbox.append(
        'deregister',
        `account/${account}`,
        JSON.stringify(payload),
        this.scheduler.now(),
      );
    });
    this.db.outbox.notify();
  }

  /**
   * Appends the full-state resync owed to the console (StateDatabase.resyncPending), in ONE
   * transaction with clearing it: for every cluster known to any source (its cluster object, or an
   * object on it), `resync` rows naming every workload, namespace and node the snapshots hold for
   * it, in parts of at most RESYNC_PART_MAX_IDS. Call once every source's first full list is in the
   * outbox: the rows then follow the upserts they describe, and the console drops the rest.
   * Returns the clusters and objects named, or undefined when no resync was owed.
   */
  resync(): { generation: number; clusters: number; objects: number } | undefined {
    const result = this.db.transaction(() => {
      const generation = this.db.resyncPending;
      if (generation === undefined) return undefined;
      const live = new Map<string, ObjectRef[]>();
      const of = (clusterId: string): ObjectRef[] => {
        let list = live.get(clusterId);
        if (list === undefined) live.set(clusterId, (list = []));
        return list;
      };
      let objects = 0;
      for (const r of this.db.snapshots.allRefs()) {
        const list = of(r.clusterId);
        if (r.kind === 'cluster') continue;
        list.push({ type: WIRE_TYPE[r.kind], id: r.id });
        objects += 1;
      }
      const nowMs = this.scheduler.now();
      for (const [clusterId, refs] of live) {
        const parts = Math.max(1, Math.ceil(refs.length / RESYNC_PART_MAX_IDS));
        for (let part = 0; part < parts; part++) {
          const payload: Omit<ResyncClusterRequest, 'batch_id'> = {
            cluster_id: clusterId,
            generation,
            part,
            parts,
            live: refs.slice(part * RESYNC_PART_MAX_IDS, (part + 1) * RESYNC_PART_MAX_IDS),
          };
          this.db.outbox.append('resync', `resync/${clusterId}`, JSON.stringify(payload), nowMs);
        }
      }
      this.db.clearResync(generation);
      return { generation, clusters: live.size, objects };
    });
    if (result !== undefined) this.db.outbox.notify();
    return result;
  }

  /** Returns whether an outbox row was appended. */
  private apply(event: WatchEvent<ClusterObject>): boolean {
    const snaps = this.db.snapshots;
    switch (event.type) {
      case 'BOOKMARK':
        snaps.setCursor(event.sourceId, event.cursor);
        return false;
      case 'RELIST':
        if (event.phase === 'done' && event.cursor !== undefined)
          snaps.setCursor(event.sourceId, event.cursor);
        return false;
      case 'ADDED':
      case 'MODIFIED': {
        const nowMs = this.scheduler.now();
        // The engine sends the hash (and order) it computed with the source's hashOf / orderOf: the
        // ones it compares with this snapshot after a restart. Events from elsewhere may not.
        const hash = event.hash ?? objectHash(event.object);
        const prev = snaps.get(event.sourceId, event.key);
        let appended = false;
        if (prev === undefined || prev.hash !== hash) {
          const firstSeenMs = prev?.firstSeenMs ?? nowMs;
          const images: Record<string, number> = {};
          this.appendUpsert(event.object, { firstSeenMs, lastSeenMs: nowMs }, nowMs, (key) => {
            const first = images[key] ?? prev?.images[key] ?? nowMs;
            images[key] = first;
            return first;
          });
          snaps.put(event.sourceId, event.key, hash, event.order, event.object, firstSeenMs, images);
          appended = true;
        }
        if (event.cursor !== undefined) snaps.setCursor(event.sourceId, event.cursor);
        return appended;
      }
      case 'DELETED': {
        const nowMs = this.scheduler.now();
        this.appendDelete(event.object, event.tombstone, nowMs);
        snaps.delete(event.sourceId, event.key);
        if (event.cursor !== undefined) snaps.setCursor(event.sourceId, event.cursor);
        return true;
      }
    }
  }

  private append(rpc: OutboxRpc, o: ClusterObject, payload: unknown, nowMs: number): void {
    this.db.outbox.append(rpc, objectKey(o), JSON.stringify(payload), nowMs);
  }

  /** `imageFirstSeen(key)` returns (and records) the first-seen time of an image of a workload. */
  private appendUpsert(
    o: ClusterObject,
    seen: { firstSeenMs: number; lastSeenMs: number },
    nowMs: number,
    imageFirstSeen: (imageKey: string) => number,
  ): void {
    switch (o.kind) {
      case 'cluster':
        this.append('register', o, toRegistration(o.cluster, nowMs), nowMs);
        return;
      case 'workload': {
        const imageSeen = (container: string, img: ContainerImage) => ({
          firstSeenMs: imageFirstSeen(imageSeenKey(container, img)),
          lastSeenMs: nowMs,
        });
        const s: Sighting = { workload: toWorkloadSighting(o.workload, seen, imageSeen) };
        this.append('sightings', o, s, nowMs);
        return;
      }
      case 'namespace': {
        const s: Sighting = { namespace: toNamespaceSighting(o.namespace, seen) };
        this.append('sightings', o, s, nowMs);
        return;
      }
      case 'node': {
        const s: Sighting = { node: toNodeSighting(o.node, seen) };
        this.append('sightings', o, s, nowMs);
        return;
      }
    }
  }

  private appendDelete(o: ClusterObject, tombstone: boolean, nowMs: number): void {
    switch (o.kind) {
      case 'cluster': {
        const payload: Omit<DeregisterClustersRequest, 'batch_id'> = {
          cluster_ids: [o.cluster.id],
          account: '',
        };
        this.append('deregister', o, payload, nowMs);
        this.db.activity.forgetCluster(o.cluster.id);
        return;
      }
      case 'workload': {
        const s: Sighting = {
          deletion: {
            cluster_id: o.workload.clusterId,
            type: 'WORKLOAD',
            id: o.workload.uid,
            tombstone,
            deleted_ms: nowMs,
          },
        };
        this.append('sightings', o, s, nowMs);
        return;
      }
      case 'namespace': {
        const s: Sighting = {
          deletion: {
            cluster_id: o.namespace.clusterId,
            type: 'NAMESPACE',
            id: o.namespace.name,
            tombstone,
            deleted_ms: nowMs,
          },
        };
        this.append('sightings', o, s, nowMs);
        return;
      }
      case 'node': {
        const s: Sighting = {
          deletion: {
            cluster_id: o.node.clusterId,
            type: 'NODE',
            id: o.node.id,
            tombstone,
            deleted_ms: nowMs,
          },
        };
        this.append('sightings', o, s, nowMs);
        return;
      }
    }
  }
}
