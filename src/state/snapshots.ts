/**
 * Per-source watch state: the cursor and the last known object of every key, plus first/last seen
 * per image per workload. Written by ConsoleSink in the same transaction as the outbox rows, read by
 * the watch engine on start-up (`load`). Rows whose JSON cannot be read are skipped and logged (the
 * engine's relist then re-adds the object), never thrown.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { ClusterObject } from '../model/index.js';
import type { CheckpointObject, WatchCheckpoint } from '../watch/events.js';

export interface SnapshotEntry {
  hash: string;
  firstSeenMs: number;
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

export class SnapshotStore {
  private readonly getStmt: Statement<[string, string]>;
  private readonly putStmt: Statement<[string, string, string, number | null, string, number]>;
  private readonly delStmt: Statement<[string, string]>;
  private readonly cursorGet: Statement<[string]>;
  private readonly cursorPut: Statement<[string, string]>;
  private readonly listStmt: Statement<[string]>;
  private readonly imageGet: Statement<[string, string]>;
  private readonly imagePut: Statement<[string, string, number, number]>;
  private readonly imageDel: Statement<[string]>;

  constructor(
    db: Database,
    private readonly logger: Logger,
  ) {
    this.getStmt = db.prepare('SELECT hash, first_seen_ms FROM snapshot WHERE source_id = ? AND key = ?');
    this.putStmt = db.prepare(
      `INSERT INTO snapshot (source_id, key, hash, ord, object, first_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, key) DO UPDATE SET hash = excluded.hash, ord = excluded.ord, object = excluded.object`,
    );
    this.delStmt = db.prepare('DELETE FROM snapshot WHERE source_id = ? AND key = ?');
    this.cursorGet = db.prepare('SELECT cursor FROM cursors WHERE source_id = ?');
    this.cursorPut = db.prepare(
      'INSERT INTO cursors (source_id, cursor) VALUES (?, ?) ON CONFLICT (source_id) DO UPDATE SET cursor = excluded.cursor',
    );
    this.listStmt = db.prepare(
      'SELECT key, hash, ord, object FROM snapshot WHERE source_id = ? ORDER BY key',
    );
    this.imageGet = db.prepare(
      'SELECT first_seen_ms FROM image_seen WHERE workload_key = ? AND image_key = ?',
    );
    this.imagePut = db.prepare(
      `INSERT INTO image_seen (workload_key, image_key, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (workload_key, image_key) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
    );
    this.imageDel = db.prepare('DELETE FROM image_seen WHERE workload_key = ?');
  }

  get(sourceId: string, key: string): SnapshotEntry | undefined {
    const r = this.getStmt.get(sourceId, key) as { hash: string; first_seen_ms: number } | undefined;
    return r === undefined ? undefined : { hash: r.hash, firstSeenMs: r.first_seen_ms };
  }

  /** Inserts or replaces the object; `firstSeenMs` is kept from the first insert. */
  put(
    sourceId: string,
    key: string,
    hash: string,
    order: number | undefined,
    object: ClusterObject,
    firstSeenMs: number,
  ): void {
    this.putStmt.run(sourceId, key, hash, order ?? null, JSON.stringify(object), firstSeenMs);
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

  /** Records that `imageKey` was seen in the workload now; returns its first/last seen. */
  seeImage(
    workloadKey: string,
    imageKey: string,
    nowMs: number,
  ): { firstSeenMs: number; lastSeenMs: number } {
    const r = this.imageGet.get(workloadKey, imageKey) as { first_seen_ms: number } | undefined;
    const firstSeenMs = r?.first_seen_ms ?? nowMs;
    this.imagePut.run(workloadKey, imageKey, firstSeenMs, nowMs);
    return { firstSeenMs, lastSeenMs: nowMs };
  }

  forgetImages(workloadKey: string): void {
    this.imageDel.run(workloadKey);
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
