/**
 * A fresh start's catch-up re-delivers the audit entries logged just before the list (its cursor is
 * taken early, because Logging delivers late). What the list already showed costs no read (issue
 * #12): entries stamped, by Google's clock, well before the newest provider time the list showed in
 * their region give no hint and are counted in `sightline_hints_skipped_total`; entries near or
 * after it, and every later change, are read as before. Real SDK clients against the emulator; the
 * emulator's clock is set back while the pre-start deploys are made, so their entries carry older
 * stamps without the test waiting; the adapter's clock runs behind, so its cursor precedes them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import type { WatchSource } from '../../src/watch/source.js';
import type { ClusterObject } from '../../src/model/index.js';
import { ListCoverage } from '../../src/provider/list-coverage.js';
import type { Harness } from './harness.js';
import { collectHints, listAll, metricValue, sourceFor, startHarness, storeOf } from './harness.js';

const P = 'proj-covered';
const R = 'us-central1';
const SVC = 'run.googleapis.com/Service';
const PRE = ['pre-0', 'pre-1', 'pre-2', 'pre-3'];

let shiftMs = 0;
/** The emulator's clock: real time, moved back by `shiftMs` while pre-start deploys are made. */
const fleetClock: SchedulerLike = {
  now: () => Date.now() + shiftMs,
  schedule: asyncScheduler.schedule.bind(asyncScheduler),
};

/**
 * The adapter's clock runs a minute behind: the list's cursor (taken 10 s before the list by this
 * clock) then lies well before the pre-start entries however slowly the test gets to the list.
 */
const adapterClock: SchedulerLike = {
  now: () => Date.now() - 60_000,
  schedule: asyncScheduler.schedule.bind(asyncScheduler),
};

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    projects: [P],
    regions: [R],
    emulator: { lroAudit: true, readyDelayMs: 0, scheduler: fleetClock },
    scheduler: adapterClock,
  });
});
afterAll(async () => {
  await h.close();
});

async function deployReady(name: string): Promise<void> {
  const { revision } = h.emu.fleet.deployService(P, R, name, `us-docker.pkg.dev/${P}/app/${name}:1`);
  await vi.waitFor(
    () => {
      if (h.emu.fleet.revisions.get(revision)?.ready !== true) throw new Error(`${name} not ready`);
    },
    { timeout: 5_000, interval: 5 },
  );
}

/** The service name a hint is about, through the store the list filled. */
function serviceNameOf(source: WatchSource<ClusterObject>, key: string): string | undefined {
  const o = storeOf(source).get(key);
  return o?.kind === 'workload' && o.workload.nativeKind === SVC ? o.workload.name : undefined;
}

describe('entries a fresh start lists again', () => {
  it('gives no hint for what the list showed, hints what came near or after it', async () => {
    shiftMs = -8_000; // logged 8 s before the start (after the list's cursor)
    for (const name of PRE) await deployReady(name);
    shiftMs = -500; // just before the start: inside the margin, read again
    await deployReady('recent');
    shiftMs = 0;

    const source = await sourceFor(h, P, 'services');
    const listed = await listAll(source);
    expect(PRE.every((n) => listed.items.some((o) => o.kind === 'workload' && o.workload.name === n))).toBe(
      true,
    );
    const log = collectHints(source, listed.cursor);
    try {
      await log.ready();
      const named = log.hints.flatMap((x) =>
        x.type === 'family' || x.type === 'changed' ? [serviceNameOf(source, x.key)] : [],
      );
      expect(named).toContain('recent');
      expect(named.filter((n) => n !== undefined && PRE.includes(n))).toEqual([]);
      // Each pre-start deploy logged an operation end and a Ready event, both skipped.
      const skipped = await metricValue(h.metrics, 'sightline_hints_skipped_total', {
        source: source.id,
        reason: 'covered_by_list',
      });
      expect(skipped).toBeGreaterThanOrEqual(PRE.length * 2);

      // A change after the list is hinted as always.
      await deployReady('after');
      // (the list did not show it: its key is not in the store)
      await log.waitFor(
        (x) => x.type === 'family' && storeOf(source).get(x.key) === undefined,
        'the new service',
      );
      expect(log.errors).toEqual([]);
    } finally {
      log.sub.unsubscribe();
    }
  });
});

describe('ListCoverage', () => {
  const MARGIN_MS = 2_000;

  it('bounds a scope by the newest provider time seen when its first page was read', () => {
    const c = new ListCoverage(MARGIN_MS);
    c.started();
    c.page('a', 100_000); // region a, first page: bound 100 s
    c.page('a', 150_000); // a later page of a read later: the bound stays at a's first read
    c.page('b', 120_000); // region b read after a's pages: bound max(150, 120) s
    c.completed();
    expect(c.covers('a', 97_999)).toBe(true);
    expect(c.covers('a', 98_000)).toBe(false); // within the margin
    expect(c.covers('a', 140_000)).toBe(false); // after a's first page: a's first page may not show it
    expect(c.covers('b', 147_999)).toBe(true);
    expect(c.covers('c', 1)).toBe(false); // never listed
    expect(c.covers('a', undefined)).toBe(false); // an entry without a stamp
  });

  it('covers nothing until a list completes, and an abandoned list publishes nothing', () => {
    const c = new ListCoverage(MARGIN_MS);
    c.started();
    c.page('a', 100_000);
    expect(c.covers('a', 1)).toBe(false);
    c.started(); // restarted: the first attempt's pages count for nothing
    c.page('a', undefined);
    c.completed();
    expect(c.covers('a', 1)).toBe(false);
  });

  it('gives no bound to a scope whose first page came before any provider time', () => {
    const c = new ListCoverage(MARGIN_MS);
    c.started();
    c.page('a', undefined); // a's first page: empty
    c.page('a', 100_000); // a later page: a's first page may have missed what happened meanwhile
    c.completed();
    expect(c.covers('a', 1)).toBe(false);
  });

  it('only grows: a later list with older objects keeps the bound', () => {
    const c = new ListCoverage(MARGIN_MS);
    c.started();
    c.page('a', 100_000);
    c.completed();
    c.started();
    c.page('a', 50_000);
    c.completed();
    expect(c.covers('a', 97_000)).toBe(true);
  });
});
