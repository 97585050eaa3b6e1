/**
 * The state database's schema (one SQLite file, `sightline.db`). Versioned with `user_version`;
 * `migrate` creates or upgrades it inside one transaction and refuses a newer schema it does not
 * know (a clear error rather than silently misreading it).
 */
import type { Database } from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

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

export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') throw new Error('cannot read the state database schema version');
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `state database schema version ${version} is newer than this sightline understands (${SCHEMA_VERSION})`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec(DDL_V1);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
