import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { filter, firstValueFrom } from 'rxjs';
import { canonicalJson, objectHash, objectKey, objectOrder } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import { openStateDatabase, STATE_DB_FILE } from '../../src/state/database.js';
import { SCHEMA_VERSION } from '../../src/state/schema.js';
import { ConsoleSink } from '../../src/console/sink.js';
import { createWatch } from '../../src/watch/index.js';
import type { WatchSource } from '../../src/watch/source.js';
import { NEVER } from 'rxjs';
import { captureLogger, makeCluster, makeWorkload, newMetrics, tempDir } from '../console/helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** The hash schema 5 stored: the first 22 base64url characters of SHA-256 over the canonical JSON. */
function hashV1(o: ClusterObject): string {
  const { order: _order, ...content } = o;
  return createHash('sha256').update(canonicalJson(content)).digest('base64url').slice(0, 22);
}

function open(dir: string) {
  const db = openStateDatabase(dir, { logger: captureLogger().logger, metrics: newMetrics() });
  cleanups.unshift(() => db.close());
  return db;
}

describe('schema 6: snapshot hashes rewritten as content hash v2', () => {
  it('lets a watch restarted after the upgrade find every unchanged object unchanged', async () => {
    const t = tempDir('sl-schema6-');
    cleanups.push(t.cleanup);
    const c = makeCluster(1);
    const objects: ClusterObject[] = [
      { kind: 'cluster', cluster: c },
      ...[1, 2, 3].map((n) => ({ kind: 'workload' as const, workload: makeWorkload(c, n), order: 10 + n })),
    ];
    const db = open(t.dir);
    const sink = new ConsoleSink(db, { logger: captureLogger().logger });
    for (const o of objects)
      sink.handle({ type: 'ADDED', sourceId: 's', key: objectKey(o), object: o, cursor: 'c1' });
    db.close();

    // What schema 5 left behind: SHA-256 hashes, and one row whose object cannot be read.
    const raw = new Database(join(t.dir, STATE_DB_FILE));
    const put = raw.prepare('UPDATE snapshot SET hash = ? WHERE source_id = ? AND key = ?');
    for (const o of objects) put.run(hashV1(o), 's', objectKey(o));
    raw
      .prepare(
        "INSERT INTO snapshot (source_id, key, hash, ord, object, first_seen_ms) VALUES ('s', 'bad', 'old', NULL, '{not json', 1)",
      )
      .run();
    raw.pragma('user_version = 5');
    raw.close();

    const again = open(t.dir);
    const cp = again.loadCheckpoint('s');
    const loaded = [...(cp?.objects ?? [])];
    expect(loaded.map((o) => o.key).sort()).toEqual(objects.map(objectKey).sort());
    for (const o of loaded) expect(o.hash).toBe(objectHash(o.object));
    again.close();
    const check = new Database(join(t.dir, STATE_DB_FILE), { readonly: true });
    cleanups.unshift(() => check.close());
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(check.prepare("SELECT hash FROM snapshot WHERE key = 'bad'").get()).toEqual({ hash: 'old' });

    // The restarted watch lists the same objects (fresh copies, as an API answer): no change events.
    const source: WatchSource<ClusterObject> = {
      id: 's',
      keyOf: objectKey,
      orderOf: objectOrder,
      hashOf: objectHash,
      list: async () => ({ items: objects.map((o) => structuredClone(o)), cursor: 'c2' }),
      get: async () => undefined,
      hints: () => NEVER,
    };
    const w = createWatch(source, { initial: cp! });
    const types: string[] = [];
    w.events$.subscribe((e) => types.push(e.type));
    const done = firstValueFrom(w.events$.pipe(filter((e) => e.type === 'RELIST' && e.phase === 'done')));
    w.start();
    await done;
    await w.stop();
    expect(types.filter((x) => x === 'ADDED' || x === 'MODIFIED' || x === 'DELETED')).toEqual([]);
  });
});
