/**
 * Per-source watch state: the cursor and the last known object of every key, with its first-seen
 * time and the first-seen time of each of its current images. Written by ConsoleSink in the same transaction as the outbox rows, read by
 * the watch engine on start-up (`load`). Rows whose JSON cannot be read are skipped and logged (the
 * engine's relist then re-adds the object), never thrown.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { ClusterObject } from '../model/index.js';
import type { CheckpointObject, WatchCheckpoint } from '../watch/events.js';

/** An object a snapshot holds, by kind, cluster id and id (cluster id; workload uid; namespace name; node id). */
interface SnapshotRef {
  kind: ClusterObject['kind'];
  clusterId: string;
  id: string;
}

interface SnapshotEntry {
  hash: string;
  firstSeenMs: number;
  /** First-seen time per image key of the object's current images (workloads only). */
  images: Record<string, number>;
}

interface RawSnapshot {
  key: string;
  hash: string;
  ord: number | null;
  object: string;
}

const OBJECT_KINDS = new Set(['cluster', 'namespace', 'workload', 'node']);

function isClusterObject(v: unknown): v is ClusterObject {
  if (v === null || typeof v !== 'object') return false;
  const kind = (v as { kind?: unknown }).kind;
  return (
    typeof kind === 'string' &&
    OBJECT_KINDS.has(kind) &&
    typeof (v as Record<string, unknown>)[kind] === 'object'
  );
}

function parseImages(text: string): Record<string, number> {
  if (text === '{}') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(v)) if (typeof n === 'number' && Number.isFinite(n)) out[k] = n;
    return out;
  } catch {
    return {};
  }
}

export class SnapshotStore {
  private readonly getStmt: Statement<[string, string]>;
  private readonly putStmt: Statement<[string, string, string, number | null, string, number, string]>;
  private readonly delStmt: Statement<[string, string]>;
  private readonly cursorGet: Statement<[string]>;
  private readonly cursorPut: Statement<[string, string]>;
  private readonly listStmt: Statement<[string]>;
  private readonly allStmt: Statement<[]>;

  constructor(
    db: Database,
    private readonly logger: Logger,
  ) {
    this.getStmt = db.prepare(
      'SELECT hash, first_seen_ms, images FROM snapshot WHERE source_id = ? AND key = ?',
    );
    this.putStmt = db.prepare(
      `INSERT INTO snapshot (source_id, key, hash, ord, object, first_seen_ms, images) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, key) DO UPDATE SET hash = excluded.hash, ord = excluded.ord, object = excluded.object,
         images = excluded.images`,
    );
    this.delStmt = db.prepare('DELETE FROM snapshot WHERE source_id = ? AND key = ?');
    this.cursorGet = db.prepare('SELECT cursor FROM cursors WHERE source_id = ?');
    this.cursorPut = db.prepare(
      'INSERT INTO cursors (source_id, cursor) VALUES (?, ?) ON CONFLICT (source_id) DO UPDATE SET cursor = excluded.cursor',
    );
    this.allStmt = db.prepare(
      `SELECT kind, clusterId, id FROM (
         SELECT json_extract(object, '$.kind') AS kind,
                coalesce(json_extract(object, '$.cluster.id'), json_extract(object, '$.workload.clusterId'),
                         json_extract(object, '$.namespace.clusterId'), json_extract(object, '$.node.clusterId')) AS clusterId,
                coalesce(json_extract(object, '$.cluster.id'), json_extract(object, '$.workload.uid'),
                         json_extract(object, '$.namespace.name'), json_extract(object, '$.node.id')) AS id
         FROM snapshot WHERE json_valid(object) ORDER BY source_id, key)
       WHERE kind IN ('cluster', 'workload', 'namespace', 'node') AND typeof(clusterId) = 'text' AND typeof(id) = 'text'`,
    );
    this.listStmt = db.prepare(
      'SELECT key, hash, ord, object FROM snapshot WHERE source_id = ? ORDER BY key',
    );
  }

  get(sourceId: string, key: string): SnapshotEntry | undefined {
    const r = this.getStmt.get(sourceId, key) as
      { hash: string; first_seen_ms: number; images: string } | undefined;
    if (r === undefined) return undefined;
    return { hash: r.hash, firstSeenMs: r.first_seen_ms, images: parseImages(r.images) };
  }

  /** Inserts or replaces the object; `firstSeenMs` is kept from the first insert. */
  put(
    sourceId: string,
    key: string,
    hash: string,
    order: number | undefined,
    object: ClusterObject,
    firstSeenMs: number,
    images: Record<string, number> = {},
  ): void {
    this.putStmt.run(
      sourceId,
      key,
      hash,
      order ?? null,
      JSON.stringify(object),
      firstSeenMs,
      JSON.stringify(images),
    );
  }

  delete(sourceId: string, key: string): void {
    this.delStmt.run(sourceId, key);
  }

  setCursor(sourceId: string, cursor: string): void {
    this.cursorPut.run(sourceId, cursor);
  }

  cursor(sourceId: string): string | undefined {
    const r = this.cursorGet.get(sourceId) as { cursor: string } | undefined;
    return r?.cursor;
  }

  /**
   * What every source holds, by kind, cluster and id (for a full-state resync). SQLite extracts the
   * three fields, so no object is parsed in JS (a large fleet holds ~100 MB of snapshot JSON).
   * Rows without them (unreadable) are skipped, as in `load`.
   */
  allRefs(): SnapshotRef[] {
    return this.allStmt.all() as SnapshotRef[];
  }

  /** The checkpoint of one source, or undefined when the source never persisted anything. */
  load(sourceId: string): WatchCheckpoint<ClusterObject> | undefined {
    const cursor = this.cursor(sourceId);
    const objects: CheckpointObject<ClusterObject>[] = [];
    let skipped = 0;
    for (const r of this.listStmt.all(sourceId) as RawSnapshot[]) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.object);
      } catch {
        parsed = undefined;
      }
      if (!isClusterObject(parsed)) {
        skipped += 1;
        continue;
      }
      const o: CheckpointObject<ClusterObject> = { key: r.key, hash: r.hash, object: parsed };
      if (r.ord !== null) o.order = r.ord;
      objects.push(o);
    }
    if (skipped > 0)
      this.logger.warn(
        { sourceId, skipped },
        'skipped unreadable snapshot rows; the next relist re-adds them',
      );
    if (cursor === undefined && objects.length === 0) return undefined;
    const cp: WatchCheckpoint<ClusterObject> = { objects };
    if (cursor !== undefined) cp.cursor = cursor;
    return cp;
  }
}
