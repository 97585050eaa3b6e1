/**
 * Provider errors through the real gax clients: UNAVAILABLE is retried by gax itself; RESOURCE_EXHAUSTED
 * becomes a throttling error (engine backs off, no relist); every call waits for the API budget and is
 * counted with its outcome.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { isThrottling } from '../../src/watch/source.js';
import type { Harness } from './harness.js';
import { RecordingClock, listAll, listProject, metricValue, sourceFor, startHarness } from './harness.js';

const P = 'proj-throttle';
const LIST_SERVICES = 'google.cloud.run.v2.Services/ListServices';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('throttling and unavailability', () => {
  it('RESOURCE_EXHAUSTED on a list page rejects with a throttling error and is counted', async () => {
    h = await startHarness({ projects: [P], regions: ['us-central1'] });
    h.emu.faults.failNext(LIST_SERVICES, status.RESOURCE_EXHAUSTED);
    const source = await sourceFor(h, P, 'services');
    const err = await source.list(undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isThrottling(err)).toBe(true);
    expect(
      await metricValue(h.metrics, 'sightline_api_calls_total', {
        operation: 'ListServices',
        outcome: 'resource_exhausted',
      }),
    ).toBe(1);
    // The list works once the quota is back.
    const page = await source.list(undefined);
    expect(page.items).toEqual([]);
  });

  it('UNAVAILABLE once is retried by gax: the list succeeds, the server saw two calls', async () => {
    h = await startHarness({ projects: [P], regions: ['us-central1'] });
    h.emu.fleet.deployService(P, 'us-central1', 'svc', 'gcr.io/proj-throttle/svc:1', { silent: true });
    h.emu.faults.failNext(LIST_SERVICES, status.UNAVAILABLE);
    const r = await listAll(await sourceFor(h, P));
    expect(r.items.filter((o) => o.kind === 'workload')).toHaveLength(2);
    expect(h.emu.calls.count(LIST_SERVICES)).toBe(2);
    expect(
      await metricValue(h.metrics, 'sightline_api_calls_total', { operation: 'ListServices', outcome: 'ok' }),
    ).toBe(1);
  });

  it('every Run call waits for a run:read token (budget on virtual time)', async () => {
    const clock = new RecordingClock();
    h = await startHarness({
      projects: [P],
      regions: ['us-central1'],
      scheduler: clock,
      budget: { 'run:read': { burst: 1, refillPerSecond: 1 } },
    });
    const source = await sourceFor(h, P, 'services');
    let done = false;
    const p = source.list(undefined).then(() => (done = true)); // prefetch (1 token) + ListServices (1 token)
    // The prefetch took the one token; ListServices waits 1 s of virtual time for the next.
    await vi.waitFor(() => expect(clock.due).toContain(1_000), { timeout: 10_000, interval: 5 });
    expect(done).toBe(false);
    expect(h.emu.calls.count(LIST_SERVICES)).toBe(0);
    clock.time.flush();
    await p;
    expect(h.emu.calls.count(LIST_SERVICES)).toBe(1);
    expect(h.deps.budget.waitedMs('run:read')).toBeGreaterThan(0);
  });

  it('slow pages delay the list without breaking it', async () => {
    h = await startHarness({ projects: [P], regions: ['us-central1'] });
    h.emu.fleet.deployService(P, 'us-central1', 'svc', 'gcr.io/proj-throttle/svc:1', { silent: true });
    h.emu.faults.slowPages(150);
    const started = Date.now();
    const r = await listProject(h, P);
    // five Run list families (in three kind sources), each one page, each delayed
    expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 150);
    expect(r.items.filter((o) => o.kind === 'workload')).toHaveLength(2);
  });
});
