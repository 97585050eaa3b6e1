/**
 * Coalesced heartbeats: one row per (cluster, controller) holding the latest activity time, pending
 * while it is newer than what the console acknowledged. However often a controller reports, the
 * console hears about it once per heartbeat flush.
 */
import type { Database, Statement } from 'better-sqlite3';

export interface PendingActivity {
  clusterId: string;
  controllerName: string;
  profile: string;
  lastSeenMs: number;
}

interface RawActivity {
  cluster_id: string;
  controller: string;
  profile: string;
  last_seen_ms: number;
}

export class ActivityStore {
  private readonly upsertStmt: Statement<[string, string, string, number]>;
  private readonly pendingStmt: Statement<[number]>;
  private readonly markStmt: Statement<[number, string, string]>;
  private readonly forgetStmt: Statement<[string]>;
  private readonly countStmt: Statement<[]>;

  constructor(db: Database) {
    this.upsertStmt = db.prepare(
      `INSERT INTO activity (cluster_id, controller, profile, last_seen_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (cluster_id, controller) DO UPDATE SET profile = excluded.profile,
         last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
    );
    this.pendingStmt = db.prepare(
      'SELECT cluster_id, controller, profile, last_seen_ms FROM activity WHERE last_seen_ms > sent_ms ORDER BY cluster_id, controller LIMIT ?',
    );
    this.markStmt = db.prepare(
      'UPDATE activity SET sent_ms = max(sent_ms, ?) WHERE cluster_id = ? AND controller = ?',
    );
    this.forgetStmt = db.prepare('DELETE FROM activity WHERE cluster_id = ?');
    this.countStmt = db.prepare('SELECT count(*) AS n FROM activity WHERE last_seen_ms > sent_ms');
  }

  record(clusterId: string, controllerName: string, profile: string, lastSeenMs: number): void {
    this.upsertStmt.run(clusterId, controllerName, profile, lastSeenMs);
  }

  pending(limit: number): PendingActivity[] {
    return (this.pendingStmt.all(limit) as RawActivity[]).map((r) => ({
      clusterId: r.cluster_id,
      controllerName: r.controller,
      profile: r.profile,
      lastSeenMs: r.last_seen_ms,
    }));
  }

  pendingCount(): number {
    return (this.countStmt.get() as { n: number }).n;
  }

  markSent(items: readonly PendingActivity[]): void {
    for (const a of items) this.markStmt.run(a.lastSeenMs, a.clusterId, a.controllerName);
  }

  forgetCluster(clusterId: string): void {
    this.forgetStmt.run(clusterId);
  }
}
