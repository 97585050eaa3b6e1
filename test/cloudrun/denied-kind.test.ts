/**
 * One denied kind does not stop a Cloud Run project (issue #12): with `run.workerpools.list`
 * refused, the worker-pools source is denied (naming the permission), the clusters, services and
 * jobs sources list and sync, the project's one tail opens, and a deploy made afterwards still
 * arrives; once the permission is granted, the worker pools appear at the next denied retry.
 * Real SDK clients against the emulator, one watch engine per kind source as the daemon runs them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { ClusterObject } from '../../src/model/index.js';
import { createWatch } from '../../src/watch/engine.js';
import type { WatchEvent } from '../../src/watch/events.js';
import type { Watch } from '../../src/watch/types.js';
import type { Harness } from './harness.js';
import { eventWorkload, sourcesOf, startHarness } from './harness.js';

const P = 'proj-denied';
const R = 'us-central1';
const LIST_WORKER_POOLS = 'google.cloud.run.v2.WorkerPools/ListWorkerPools';
const IO = { timeout: 10_000, interval: 10 };
const DENIED_RETRY_MS = 300;

let h: Harness | undefined;
const watches: Watch<ClusterObject>[] = [];
afterEach(async () => {
  await Promise.all(watches.splice(0).map((w) => w.stop()));
  await h?.close();
  h = undefined;
});

describe('a denied Cloud Run kind', () => {
  it('leaves the other kinds watched and the tail open; the denied kind recovers when granted', async () => {
    h = await startHarness({ projects: [P], regions: [R] });
    const f = h.emu.fleet;
    f.deployService(P, R, 'shop', 'us-docker.pkg.dev/p/app/shop:1', { silent: true });
    f.createWorkerPool(P, R, 'consumers', 'us-docker.pkg.dev/p/app/consumer:1', { silent: true });
    h.emu.faults.denyPermission(LIST_WORKER_POOLS, 'run.workerpools.list');

    const events: WatchEvent<ClusterObject>[] = [];
    const byKind = new Map<string, Watch<ClusterObject>>();
    for (const source of await sourcesOf(h, P)) {
      const watch = createWatch(source, {
        logger: pino({ level: 'silent' }),
        deniedRetryMs: DENIED_RETRY_MS,
      });
      watch.events$.subscribe((e) => events.push(e));
      watch.start();
      watches.push(watch);
      byKind.set(source.id.slice(`cloudrun/${P}/`.length), watch);
    }
    const pools = byKind.get('workerpools');
    await vi.waitFor(() => expect(pools?.denied).toBe('run.workerpools.list'), IO);
    await vi.waitFor(() => {
      for (const kind of ['clusters', 'services', 'jobs']) expect(byKind.get(kind)?.synced, kind).toBe(true);
    }, IO);
    expect(pools?.synced).toBe(false);
    expect(events.some((e) => eventWorkload(e, 'run.googleapis.com/Service', 'shop') !== undefined)).toBe(
      true,
    );
    // The tail opens regardless of the denied kind.
    await vi.waitFor(() => expect(h?.emu.openTails()).toBe(1), IO);

    // A change made now reaches the services watch through the tail.
    f.deployService(P, R, 'cart', 'us-docker.pkg.dev/p/app/cart:1');
    await vi.waitFor(
      () =>
        expect(events.some((e) => eventWorkload(e, 'run.googleapis.com/Service', 'cart') !== undefined)).toBe(
          true,
        ),
      IO,
    );
    expect(
      events.some((e) => eventWorkload(e, 'run.googleapis.com/WorkerPool', 'consumers') !== undefined),
    ).toBe(false);

    // Granted: the next denied retry lists the worker pools and the kind becomes a normal watch.
    h.emu.faults.allowAll();
    await vi.waitFor(() => expect(pools?.synced).toBe(true), IO);
    expect(pools?.denied).toBeUndefined();
    expect(
      events.some((e) => eventWorkload(e, 'run.googleapis.com/WorkerPool', 'consumers') !== undefined),
    ).toBe(true);
  });
});
