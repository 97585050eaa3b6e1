/**
 * The state database's schema (one SQLite file, `sightline.db`). Versioned with `user_version`;
 * `migrate` creates or upgrades it inside one transaction (applying every step from the file's
 * version to SCHEMA_VERSION in order, so an existing database keeps its rows) and refuses a newer
 * schema it does not know (a clear error rather than silently misreading it).
 *
 * Versions: 1 the base tables; 2 adds `outbox_rejected` (outbox rows the console rejected on their
 * own, moved out of the outbox; see Outbox.reject); 3 makes `snapshot` a rowid table with a unique
 * index on (source_id, key) instead of a WITHOUT ROWID table (same columns, rows copied); 4 deletes
 * the `kv` rows of namespace `cloudrun-keys` (a Cloud Run key cache that this version neither reads
 * nor writes; the engine's store holds those keys), every other namespace kept; 5 moves the rows of
 * each Cloud Run project source (`cloudrun/<project>`) to the kind source that now watches them
 * (`cloudrun/<project>/{clusters,services,jobs,workerpools}`, by the object each row holds) and
 * gives every kind source the project's cursor, so an upgrade relists without re-adding anything;
 * 6 rewrites every snapshot row's `hash` as content hash v2 of its object (model/hash.ts: a
 * MurmurHash3 Merkle hash replaced SHA-256 of the canonical JSON), so the first relist after the
 * upgrade finds every unchanged object unchanged; a row whose object cannot be read keeps its hash
 * (loading skips it either way).
 */
import type { Database } from 'better-sqlite3';
import { objectHash } from '../model/index.js';
import type { ClusterObject } from '../model/index.js';

export const SCHEMA_VERSION = 6;

/**
 * The database was written by a newer sightline (a rollback): it is not corrupt, and its outbox
 * holds changes the console has not seen, so it is neither migrated nor moved aside.
 */
export class SchemaTooNewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaTooNewError';
  }
}

const DDL_V1 = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- Pending console writes, sent in seq order. rpc: register | sightings | deregister.
-- seq is assigned by Outbox and never reused (see Outbox: the high-water mark survives an empty table).
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  rpc TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
-- Coalesced heartbeats: one row per (cluster, controller); pending while last_seen_ms > sent_ms.
CREATE TABLE IF NOT EXISTS activity (
  cluster_id TEXT NOT NULL,
  controller TEXT NOT NULL,
  profile TEXT NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  sent_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (cluster_id, controller)
);
-- Watch engine state per source: cursor and last known objects.
CREATE TABLE IF NOT EXISTS cursors (
  source_id TEXT PRIMARY KEY,
  cursor TEXT NOT NULL
);
-- images: JSON map image key -> first seen (ms) for a workload's current images.
CREATE TABLE IF NOT EXISTS snapshot (
  source_id TEXT NOT NULL,
  key TEXT NOT NULL,
  hash TEXT NOT NULL,
  ord INTEGER,
  object TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  images TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (source_id, key)
) WITHOUT ROWID;
-- KeyValueCache (immutable provider facts such as ECS task definitions).
CREATE TABLE IF NOT EXISTS kv (
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (ns, key)
);
`;

const DDL_V2 = `
-- Outbox rows the console rejected as INVALID_ARGUMENT on their own (ConsoleClient bisects a
-- rejected batch down to them), and rows this version cannot send (unknown rpc, unreadable payload).
-- Kept for inspection, not re-sent unless an operator requeues one; seq is the row's outbox seq.
-- error is the reason: the console's message after secret redaction, or the agent's own. Bounded: Outbox.reject evicts the oldest
-- rows past its cap and counts them in meta 'outbox_rejected_evicted'.
CREATE TABLE IF NOT EXISTS outbox_rejected (
  seq INTEGER PRIMARY KEY,
  rpc TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  error TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  rejected_ms INTEGER NOT NULL
);
`;

// Snapshot rows hold a whole object (about 1 KB). In a WITHOUT ROWID table, keyed by (source_id,
// key), an insert at a random key (task ARNs are random) lands in a page of 3-4 such rows and
// splits and rebalances its neighbours: 3.5 pages written per insert, in the sink's one-event
// transactions. As a rowid table, a new row is appended at the end and only a small entry goes into
// the index at a random place.
const DDL_V3 = `
CREATE TABLE snapshot_v3 (
  id INTEGER PRIMARY KEY,
  source_id TEXT NOT NULL,
  key TEXT NOT NULL,
  hash TEXT NOT NULL,
  ord INTEGER,
  object TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  images TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO snapshot_v3 (source_id, key, hash, ord, object, first_seen_ms, images)
  SELECT source_id, key, hash, ord, object, first_seen_ms, images FROM snapshot ORDER BY source_id, key;
DROP TABLE snapshot;
ALTER TABLE snapshot_v3 RENAME TO snapshot;
CREATE UNIQUE INDEX snapshot_key ON snapshot (source_id, key);
`;

const DDL_V4 = `
DELETE FROM kv WHERE ns = 'cloudrun-keys';
`;

// A project source's id is `cloudrun/` (9 characters) and a project id without a slash.
const DDL_V5 = `
CREATE TEMP TABLE cloudrun_kinds (kind TEXT PRIMARY KEY);
INSERT INTO cloudrun_kinds VALUES ('clusters'), ('services'), ('jobs'), ('workerpools');
UPDATE snapshot SET source_id = source_id || '/' || CASE
    WHEN json_valid(object) = 0 THEN 'clusters'
    WHEN json_extract(object, '$.workload.nativeKind')
      IN ('run.googleapis.com/Service', 'run.googleapis.com/Revision') THEN 'services'
    WHEN json_extract(object, '$.workload.nativeKind')
      IN ('run.googleapis.com/Job', 'run.googleapis.com/Execution') THEN 'jobs'
    WHEN json_extract(object, '$.workload.nativeKind') = 'run.googleapis.com/WorkerPool' THEN 'workerpools'
    ELSE 'clusters' END
  WHERE source_id LIKE 'cloudrun/%' AND instr(substr(source_id, 10), '/') = 0;
INSERT OR REPLACE INTO cursors (source_id, cursor)
  SELECT c.source_id || '/' || k.kind, c.cursor FROM cursors c, cloudrun_kinds k
  WHERE c.source_id LIKE 'cloudrun/%' AND instr(substr(c.source_id, 10), '/') = 0;
DELETE FROM cursors WHERE source_id LIKE 'cloudrun/%' AND instr(substr(source_id, 10), '/') = 0;
DROP TABLE temp.cloudrun_kinds;
`;

/** Rows rehashed per statement batch (bounds the rows held in memory at once). */
const rehashBatchRows = 1_000;

/** Schema 6: every snapshot row's hash recomputed as content hash v2 of its object. */
function rehashSnapshots(db: Database): void {
  const page = db.prepare('SELECT id, object FROM snapshot WHERE id > ? ORDER BY id LIMIT ?');
  const update = db.prepare('UPDATE snapshot SET hash = ? WHERE id = ?');
  let after = 0;
  for (;;) {
    const rows = page.all(after, rehashBatchRows) as Array<{ id: number; object: string }>;
    for (const r of rows) {
      after = r.id;
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.object);
      } catch {
        continue;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) continue;
      update.run(objectHash(parsed as ClusterObject), r.id);
    }
    if (rows.length < rehashBatchRows) return;
  }
}

/** MIGRATIONS[v] upgrades a database at user_version v to v + 1: SQL, or code for what SQL cannot compute. */
const MIGRATIONS: ReadonlyArray<string | ((db: Database) => void)> = [
  DDL_V1,
  DDL_V2,
  DDL_V3,
  DDL_V4,
  DDL_V5,
  rehashSnapshots,
];

export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') throw new Error('cannot read the state database schema version');
  if (version > SCHEMA_VERSION) {
    throw new SchemaTooNewError(
      `state database schema version ${version} is newer than this sightline understands (${SCHEMA_VERSION})`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  if (MIGRATIONS.length !== SCHEMA_VERSION) throw new Error('schema migrations do not match SCHEMA_VERSION');
  db.transaction(() => {
    for (let v = version; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (step === undefined) throw new Error(`no migration from state database schema version ${v}`);
      if (typeof step === 'string') db.exec(step);
      else step(db);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
