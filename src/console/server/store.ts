/**
 * The reference console's SQLite store. Applies agent writes idempotently (a batch id is applied at
 * most once; content is upsert/delete so replays converge), computes LAST SEEN per cluster (latest
 * time any report or heartbeat mentioned it, never in the future) and activity per controller, keeps
 * cluster data until deregistration, and answers the views: clusters, records (one per image
 * per cluster — by digest, by reference when unresolved — with the workloads that run or ran it),
 * and nodes (with the live tasks placed on each).
 */
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type {
  Activity,
  ClusterRegistration,
  ClusterView,
  DeregisterClustersRequest,
  GroupVersionKind,
  ImageRecord,
  NamespaceSighting,
  NodeSighting,
  NodeView,
  Deletion,
  ResyncClusterRequest,
  WireImage,
  WireLeaderEpoch,
  WireProvider,
  WorkloadContext,
  WorkloadSighting,
} from '../wire-types.js';

const DDL = `
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, rpc TEXT NOT NULL, received_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clusters (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, account TEXT NOT NULL, provider TEXT NOT NULL,
  registration TEXT NOT NULL, registered_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cluster_seen (cluster_id TEXT PRIMARY KEY, last_seen_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS activity (
  cluster_id TEXT NOT NULL, controller TEXT NOT NULL, profile TEXT NOT NULL, namespace TEXT NOT NULL,
  last_seen_ms INTEGER NOT NULL, PRIMARY KEY (cluster_id, controller));
CREATE TABLE IF NOT EXISTS workloads (
  cluster_id TEXT NOT NULL, uid TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  data TEXT NOT NULL, last_seen_ms INTEGER NOT NULL, deleted_ms INTEGER, PRIMARY KEY (cluster_id, uid));
CREATE TABLE IF NOT EXISTS workload_images (
  cluster_id TEXT NOT NULL, uid TEXT NOT NULL, container TEXT NOT NULL, image_key TEXT NOT NULL,
  image TEXT NOT NULL, current INTEGER NOT NULL, first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (cluster_id, uid, container, image_key));
CREATE INDEX IF NOT EXISTS workload_images_key ON workload_images (cluster_id, image_key);
CREATE TABLE IF NOT EXISTS namespaces (
  cluster_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL, last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (cluster_id, name));
-- ResyncCluster: parts received of a resync in progress, the objects they name, and the newest
-- generation completed per cluster.
CREATE TABLE IF NOT EXISTS resync_parts (
  cluster_id TEXT NOT NULL, generation INTEGER NOT NULL, part INTEGER NOT NULL, parts INTEGER NOT NULL,
  PRIMARY KEY (cluster_id, generation, part));
CREATE TABLE IF NOT EXISTS resync_live (
  cluster_id TEXT NOT NULL, generation INTEGER NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
  PRIMARY KEY (cluster_id, generation, type, id));
CREATE TABLE IF NOT EXISTS resync_done (cluster_id TEXT PRIMARY KEY, generation INTEGER NOT NULL);
-- Fencing (leader election): the newest leader epoch accepted per cluster, and every write accepted
-- (refused = 0) or refused (1) under an epoch, in order (which replica wrote what, for operators and tests).
CREATE TABLE IF NOT EXISTS fencing (cluster_id TEXT PRIMARY KEY, term INTEGER NOT NULL, holder TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fenced_writes (
  seq INTEGER PRIMARY KEY, batch_id TEXT NOT NULL, rpc TEXT NOT NULL, term INTEGER NOT NULL, holder TEXT NOT NULL,
  received_ms INTEGER NOT NULL, refused INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS nodes (
  cluster_id TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (cluster_id, id));
`;

const CLUSTER_TABLES = [
  'resync_parts',
  'resync_live',
  'resync_done',
  'cluster_seen',
  'activity',
  'workloads',
  'workload_images',
  'namespaces',
  'nodes',
] as const;

export function imageKey(img: WireImage): string {
  return img.digest !== '' ? img.digest : img.ref;
}

export class ConsoleStore {
  private readonly db: SqliteDatabase;
  private readonly stmts;

  constructor(
    file: string,
    private readonly nowMs: () => number,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(DDL);
    const db = this.db;
    this.stmts = {
      batch: db.prepare<[string, string, number]>(
        'INSERT INTO batches (batch_id, rpc, received_ms) VALUES (?, ?, ?) ON CONFLICT (batch_id) DO NOTHING',
      ),
      seen: db.prepare<[string, number]>(
        `INSERT INTO cluster_seen (cluster_id, last_seen_ms) VALUES (?, ?)
         ON CONFLICT (cluster_id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
      ),
      register: db.prepare<[string, string, string, string, string, number]>(
        `INSERT INTO clusters (id, name, account, provider, registration, registered_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, account = excluded.account, provider = excluded.provider,
           registration = excluded.registration`,
      ),
      activity: db.prepare<[string, string, string, string, number]>(
        `INSERT INTO activity (cluster_id, controller, profile, namespace, last_seen_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (cluster_id, controller) DO UPDATE SET profile = excluded.profile, namespace = excluded.namespace,
           last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
      ),
      workload: db.prepare<[string, string, string, string, string, string, number]>(
        `INSERT INTO workloads (cluster_id, uid, kind, namespace, name, data, last_seen_ms, deleted_ms) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (cluster_id, uid) DO UPDATE SET kind = excluded.kind, namespace = excluded.namespace, name = excluded.name,
           data = excluded.data, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), deleted_ms = NULL`,
      ),
      retireImages: db.prepare<[string, string]>(
        'UPDATE workload_images SET current = 0 WHERE cluster_id = ? AND uid = ?',
      ),
      image: db.prepare<[string, string, string, string, string, number, number]>(
        `INSERT INTO workload_images (cluster_id, uid, container, image_key, image, current, first_seen_ms, last_seen_ms)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?)
         ON CONFLICT (cluster_id, uid, container, image_key) DO UPDATE SET image = excluded.image, current = 1,
           first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
      ),
      deleteWorkload: db.prepare<[number, string, string]>(
        'UPDATE workloads SET deleted_ms = ? WHERE cluster_id = ? AND uid = ? AND deleted_ms IS NULL',
      ),
      deleteWorkloadImages: db.prepare<[number, string, string]>(
        'UPDATE workload_images SET last_seen_ms = max(last_seen_ms, ?), current = 0 WHERE cluster_id = ? AND uid = ? AND current = 1',
      ),
      namespace: db.prepare<[string, string, string, number]>(
        `INSERT INTO namespaces (cluster_id, name, data, last_seen_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (cluster_id, name) DO UPDATE SET data = excluded.data, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
      ),
      deleteNamespace: db.prepare<[string, string]>(
        'DELETE FROM namespaces WHERE cluster_id = ? AND name = ?',
      ),
      node: db.prepare<[string, string, string, number]>(
        `INSERT INTO nodes (cluster_id, id, data, last_seen_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (cluster_id, id) DO UPDATE SET data = excluded.data, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
      ),
      deleteNode: db.prepare<[string, string]>('DELETE FROM nodes WHERE cluster_id = ? AND id = ?'),
      clustersOfAccount: db.prepare<[string], { id: string }>('SELECT id FROM clusters WHERE account = ?'),
      deleteCluster: db.prepare<[string]>('DELETE FROM clusters WHERE id = ?'),
      listClusters: db.prepare<
        [],
        {
          id: string;
          registration: string;
          registered_ms: number;
          last_seen_ms: number | null;
          provider: string;
        }
      >(
        `SELECT c.id, c.registration, c.registered_ms, c.provider, s.last_seen_ms FROM clusters c
         LEFT JOIN cluster_seen s ON s.cluster_id = c.id ORDER BY c.name, c.id`,
      ),
      activityOf: db.prepare<
        [string],
        { controller: string; profile: string; namespace: string; last_seen_ms: number }
      >(
        'SELECT controller, profile, namespace, last_seen_ms FROM activity WHERE cluster_id = ? ORDER BY controller',
      ),
      liveWorkloads: db.prepare<[string], { n: number }>(
        'SELECT count(*) AS n FROM workloads WHERE cluster_id = ? AND deleted_ms IS NULL',
      ),
      records: db.prepare<
        [string, string],
        {
          cluster_id: string;
          cluster_name: string;
          image_key: string;
          image: string;
          current: number;
          img_last_seen: number;
          kind: string;
          namespace: string;
          name: string;
          uid: string;
          deleted_ms: number | null;
          cluster_last_seen: number | null;
        }
      >(
        `SELECT wi.cluster_id, c.name AS cluster_name, wi.image_key, wi.image, wi.current, wi.last_seen_ms AS img_last_seen,
                w.kind, w.namespace, w.name, w.uid, w.deleted_ms, s.last_seen_ms AS cluster_last_seen
         FROM workload_images wi
         JOIN clusters c ON c.id = wi.cluster_id
         JOIN workloads w ON w.cluster_id = wi.cluster_id AND w.uid = wi.uid
         LEFT JOIN cluster_seen s ON s.cluster_id = wi.cluster_id
         WHERE (? = '' OR wi.cluster_id = ?)
         ORDER BY wi.cluster_id, wi.image_key, w.namespace, w.name`,
      ),
    };
  }

  /** Records the batch id; false when it was applied before. Call inside `transaction`. */
  claimBatch(batchId: string, rpc: string): boolean {
    return this.stmts.batch.run(batchId, rpc, this.nowMs()).changes > 0;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  private seen(clusterId: string, reportedMs: number): void {
    this.stmts.seen.run(clusterId, Math.min(reportedMs, this.nowMs()));
  }

  register(c: ClusterRegistration): void {
    this.stmts.register.run(c.id, c.name, c.account, c.provider, JSON.stringify(c), this.nowMs());
    this.seen(c.id, c.observed_ms);
  }

  heartbeat(a: Activity): void {
    const t = Math.min(a.last_seen_ms, this.nowMs());
    this.stmts.activity.run(a.cluster_id, a.controller_name, a.profile, a.namespace, t);
    this.seen(a.cluster_id, t);
  }

  workload(w: WorkloadSighting): void {
    const s = this.stmts;
    s.workload.run(
      w.cluster_id,
      w.uid,
      JSON.stringify(w.kind),
      w.namespace,
      w.name,
      JSON.stringify(w),
      w.last_seen_ms,
    );
    s.retireImages.run(w.cluster_id, w.uid);
    for (const c of w.containers) {
      s.image.run(
        w.cluster_id,
        w.uid,
        c.name,
        imageKey(c.image),
        JSON.stringify(c.image),
        c.first_seen_ms,
        c.last_seen_ms,
      );
    }
    this.seen(w.cluster_id, w.last_seen_ms);
  }

  namespace(n: NamespaceSighting): void {
    this.stmts.namespace.run(n.cluster_id, n.name, JSON.stringify(n), n.last_seen_ms);
    this.seen(n.cluster_id, n.last_seen_ms);
  }

  node(n: NodeSighting): void {
    this.stmts.node.run(n.cluster_id, n.id, JSON.stringify(n), n.last_seen_ms);
    this.seen(n.cluster_id, n.last_seen_ms);
  }

  deletion(d: Deletion): void {
    const s = this.stmts;
    switch (d.type) {
      case 'WORKLOAD':
        s.deleteWorkload.run(d.deleted_ms, d.cluster_id, d.id);
        s.deleteWorkloadImages.run(d.deleted_ms, d.cluster_id, d.id);
        break;
      case 'NAMESPACE':
        s.deleteNamespace.run(d.cluster_id, d.id);
        break;
      case 'NODE':
        s.deleteNode.run(d.cluster_id, d.id);
        break;
      case 'OBJECT_TYPE_UNSPECIFIED':
        return;
    }
    this.seen(d.cluster_id, d.deleted_ms);
  }

  /**
   * One part of a cluster's full state (ResyncCluster). Once every part of the generation is here,
   * every workload of the cluster that no part names is marked deleted (its images no longer
   * current), and every such namespace and node deleted. A part of a generation older than the
   * newest completed one is ignored. Returns whether the resync was applied now.
   */
  resync(req: ResyncClusterRequest): boolean {
    const c = req.cluster_id;
    const g = req.generation;
    const done = this.db
      .prepare<[string], { generation: number }>('SELECT generation FROM resync_done WHERE cluster_id = ?')
      .get(c);
    if (done !== undefined && g < done.generation) return false;
    this.db
      .prepare<[string, number, number, number]>(
        'INSERT OR IGNORE INTO resync_parts (cluster_id, generation, part, parts) VALUES (?, ?, ?, ?)',
      )
      .run(c, g, req.part, req.parts);
    const live = this.db.prepare<[string, number, string, string]>(
      'INSERT OR IGNORE INTO resync_live (cluster_id, generation, type, id) VALUES (?, ?, ?, ?)',
    );
    for (const o of req.live) live.run(c, g, o.type, o.id);
    const got = this.db
      .prepare<[string, number], { n: number }>(
        'SELECT count(*) AS n FROM resync_parts WHERE cluster_id = ? AND generation = ?',
      )
      .get(c, g);
    if ((got?.n ?? 0) < req.parts) return false;
    const now = this.nowMs();
    const absent = (type: string, column: string): string =>
      `${column} NOT IN (SELECT id FROM resync_live WHERE cluster_id = ? AND generation = ? AND type = '${type}')`;
    this.db
      .prepare(
        `UPDATE workload_images SET current = 0 WHERE cluster_id = ? AND current = 1 AND ${absent('WORKLOAD', 'uid')}`,
      )
      .run(c, c, g);
    this.db
      .prepare(
        `UPDATE workloads SET deleted_ms = ? WHERE cluster_id = ? AND deleted_ms IS NULL AND ${absent('WORKLOAD', 'uid')}`,
      )
      .run(now, c, c, g);
    this.db
      .prepare(`DELETE FROM namespaces WHERE cluster_id = ? AND ${absent('NAMESPACE', 'name')}`)
      .run(c, c, g);
    this.db.prepare(`DELETE FROM nodes WHERE cluster_id = ? AND ${absent('NODE', 'id')}`).run(c, c, g);
    this.db.prepare('DELETE FROM resync_parts WHERE cluster_id = ? AND generation <= ?').run(c, g);
    this.db.prepare('DELETE FROM resync_live WHERE cluster_id = ? AND generation <= ?').run(c, g);
    this.db
      .prepare<[string, number]>(
        `INSERT INTO resync_done (cluster_id, generation) VALUES (?, ?)
         ON CONFLICT (cluster_id) DO UPDATE SET generation = max(generation, excluded.generation)`,
      )
      .run(c, g);
    return true;
  }

  /**
   * Fencing: refuses (returns why) a write whose epoch is older than the newest accepted for any
   * of `clusterIds`, or has the same term from another holder; otherwise records the epoch for
   * each of them. A write without an epoch is not fenced. Call inside `transaction`.
   */
  fence(
    clusterIds: readonly string[],
    epoch: WireLeaderEpoch | undefined,
    rpc: string,
    batchId: string,
  ): string | undefined {
    if (epoch === undefined) return undefined;
    const get = this.db.prepare<[string], { term: number; holder: string }>(
      'SELECT term, holder FROM fencing WHERE cluster_id = ?',
    );
    for (const id of clusterIds) {
      const newest = get.get(id);
      if (newest === undefined) continue;
      if (epoch.term < newest.term || (epoch.term === newest.term && epoch.holder !== newest.holder)) {
        return `cluster ${id} is led by epoch ${newest.term}/${newest.holder}; this write carries ${epoch.term}/${epoch.holder}: not the leader`;
      }
    }
    const set = this.db.prepare<[string, number, string]>(
      `INSERT INTO fencing (cluster_id, term, holder) VALUES (?, ?, ?)
       ON CONFLICT (cluster_id) DO UPDATE SET term = excluded.term, holder = excluded.holder`,
    );
    for (const id of clusterIds) set.run(id, epoch.term, epoch.holder);
    this.db
      .prepare<[string, string, number, string, number]>(
        'INSERT INTO fenced_writes (batch_id, rpc, term, holder, received_ms) VALUES (?, ?, ?, ?, ?)',
      )
      .run(batchId, rpc, epoch.term, epoch.holder, this.nowMs());
    return undefined;
  }

  /** Logs a write refused by `fence` (in fenced_writes, refused = 1). */
  refused(batchId: string, rpc: string, epoch: WireLeaderEpoch): void {
    this.db
      .prepare<[string, string, number, string, number]>(
        'INSERT INTO fenced_writes (batch_id, rpc, term, holder, received_ms, refused) VALUES (?, ?, ?, ?, ?, 1)',
      )
      .run(batchId, rpc, epoch.term, epoch.holder, this.nowMs());
  }

  /** Cluster ids registered with `account`. */
  clusterIdsOf(account: string): string[] {
    return this.stmts.clustersOfAccount.all(account).map((r) => r.id);
  }

  /** The newest leader epoch accepted for a cluster. */
  leaderOf(clusterId: string): WireLeaderEpoch | undefined {
    return this.db
      .prepare<[string], WireLeaderEpoch>('SELECT term, holder FROM fencing WHERE cluster_id = ?')
      .get(clusterId);
  }

  /** Forgets clusters and everything seen on them; returns how many were registered. */
  deregister(req: DeregisterClustersRequest): number {
    const ids =
      req.account !== '' ? this.stmts.clustersOfAccount.all(req.account).map((r) => r.id) : req.cluster_ids;
    let n = 0;
    for (const id of ids) {
      n += this.stmts.deleteCluster.run(id).changes;
      for (const t of CLUSTER_TABLES) this.db.prepare(`DELETE FROM ${t} WHERE cluster_id = ?`).run(id);
    }
    return n;
  }

  listClusters(provider: WireProvider): ClusterView[] {
    const out: ClusterView[] = [];
    for (const r of this.stmts.listClusters.all()) {
      if (provider !== 'PROVIDER_UNSPECIFIED' && r.provider !== provider) continue;
      const registration = JSON.parse(r.registration) as ClusterRegistration;
      const activity: Activity[] = this.stmts.activityOf.all(r.id).map((a) => ({
        cluster_id: r.id,
        controller_name: a.controller,
        profile: a.profile,
        namespace: a.namespace,
        last_seen_ms: a.last_seen_ms,
      }));
      out.push({
        registration,
        registered_ms: r.registered_ms,
        last_seen_ms: r.last_seen_ms ?? r.registered_ms,
        activity,
        workloads: this.stmts.liveWorkloads.get(r.id)?.n ?? 0,
        nodes: this.nodeCount(r.id),
        leader: this.leaderOf(r.id) ?? null,
      });
    }
    return out;
  }

  listRecords(clusterId: string): ImageRecord[] {
    const records: ImageRecord[] = [];
    const byKey = new Map<string, { rec: ImageRecord; byUid: Map<string, WorkloadContext> }>();
    for (const r of this.stmts.records.all(clusterId, clusterId)) {
      const mapKey = `${r.cluster_id}\u0000${r.image_key}`;
      let entry = byKey.get(mapKey);
      if (entry === undefined) {
        entry = {
          rec: {
            cluster_id: r.cluster_id,
            cluster_name: r.cluster_name,
            image: JSON.parse(r.image) as WireImage,
            last_seen_ms: 0,
            workloads: [],
          },
          byUid: new Map(),
        };
        byKey.set(mapKey, entry);
        records.push(entry.rec);
      }
      const live = r.current === 1 && r.deleted_ms === null;
      // A live workload is seen at every cluster poll: its image was last seen when the cluster was.
      const lastSeen = live ? Math.max(r.img_last_seen, r.cluster_last_seen ?? 0) : r.img_last_seen;
      const existing = entry.byUid.get(r.uid);
      if (existing !== undefined) {
        existing.last_seen_ms = Math.max(existing.last_seen_ms, lastSeen);
        existing.current = existing.current || live;
      } else {
        const ctx: WorkloadContext = {
          kind: JSON.parse(r.kind) as GroupVersionKind,
          namespace: r.namespace,
          name: r.name,
          uid: r.uid,
          last_seen_ms: lastSeen,
          deleted: r.deleted_ms !== null,
          current: live,
        };
        entry.byUid.set(r.uid, ctx);
        entry.rec.workloads.push(ctx);
      }
      entry.rec.last_seen_ms = Math.max(entry.rec.last_seen_ms, lastSeen);
    }
    return records;
  }

  /**
   * Nodes, by cluster name then node name, with the live tasks placed on each (a workload's
   * `node_id`): all of them, and those whose status is RUNNING. A node still listed is seen at every
   * poll of its cluster, so its LAST SEEN is at least the cluster's. Prepared per call: a CLI read.
   */
  listNodes(clusterId: string, provider: WireProvider): NodeView[] {
    const rows = this.db
      .prepare<
        [string, string, string, string],
        {
          cluster_id: string;
          cluster_name: string;
          provider: string;
          data: string;
          last_seen_ms: number;
          cluster_last_seen: number | null;
          tasks: number | null;
          running: number | null;
        }
      >(
        `WITH placed AS (
           SELECT cluster_id, json_extract(data, '$.node_id') AS node_id, count(*) AS tasks,
                  sum(json_extract(data, '$.status') = 'RUNNING') AS running
           FROM workloads WHERE deleted_ms IS NULL AND (? = '' OR cluster_id = ?)
           GROUP BY cluster_id, node_id)
         SELECT n.cluster_id, c.name AS cluster_name, c.provider, n.data, n.last_seen_ms,
                s.last_seen_ms AS cluster_last_seen, p.tasks, p.running
         FROM nodes n
         JOIN clusters c ON c.id = n.cluster_id
         LEFT JOIN cluster_seen s ON s.cluster_id = n.cluster_id
         LEFT JOIN placed p ON p.cluster_id = n.cluster_id AND p.node_id = n.id
         WHERE (? = '' OR n.cluster_id = ?)
         ORDER BY c.name, c.id, json_extract(n.data, '$.name'), n.id`,
      )
      .all(clusterId, clusterId, clusterId, clusterId);
    return rows
      .filter((r) => provider === 'PROVIDER_UNSPECIFIED' || r.provider === provider)
      .map((r) => ({
        cluster_id: r.cluster_id,
        cluster_name: r.cluster_name,
        node: {
          ...(JSON.parse(r.data) as NodeSighting),
          last_seen_ms: Math.max(r.last_seen_ms, r.cluster_last_seen ?? 0),
        },
        running_tasks: r.running ?? 0,
        tasks: r.tasks ?? 0,
      }));
  }

  // Reads for the web view (src/console/server/web/), prepared per call: off the write path.

  /** Nodes (ECS container instances) known on a cluster. */
  nodeCount(clusterId: string): number {
    const row = this.db
      .prepare<[string], { n: number }>('SELECT count(*) AS n FROM nodes WHERE cluster_id = ?')
      .get(clusterId);
    return row?.n ?? 0;
  }

  /** A cluster's namespaces as last reported, by name. */
  namespacesOf(clusterId: string): NamespaceSighting[] {
    return this.db
      .prepare<[string], { data: string; last_seen_ms: number }>(
        'SELECT data, last_seen_ms FROM namespaces WHERE cluster_id = ? ORDER BY name',
      )
      .all(clusterId)
      .map((r) => ({ ...(JSON.parse(r.data) as NamespaceSighting), last_seen_ms: r.last_seen_ms }));
  }

  /** A cluster's workloads as last reported (deleted ones with `deleted_ms`), by kind, namespace, name. */
  workloadsOf(clusterId: string): { workload: WorkloadSighting; deleted_ms: number | null }[] {
    return this.db
      .prepare<[string], { data: string; last_seen_ms: number; deleted_ms: number | null }>(
        'SELECT data, last_seen_ms, deleted_ms FROM workloads WHERE cluster_id = ? ORDER BY kind, namespace, name',
      )
      .all(clusterId)
      .map((r) => ({
        workload: { ...(JSON.parse(r.data) as WorkloadSighting), last_seen_ms: r.last_seen_ms },
        deleted_ms: r.deleted_ms,
      }));
  }

  /** First time each image (by `imageKey`) was seen on each cluster: key `cluster_id NUL image_key`. */
  imageFirstSeen(): Map<string, number> {
    const rows = this.db
      .prepare<[], { cluster_id: string; image_key: string; first: number }>(
        'SELECT cluster_id, image_key, min(first_seen_ms) AS first FROM workload_images GROUP BY cluster_id, image_key',
      )
      .all();
    return new Map(rows.map((r) => [`${r.cluster_id}\u0000${r.image_key}`, r.first]));
  }

  close(): void {
    this.db.close();
  }
}
