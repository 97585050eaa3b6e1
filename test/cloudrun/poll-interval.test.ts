/**
 * Cost at rest: a kind source's cheap poll is a safety net while the project's audit tail is live
 * (`livePollIntervalMs`) and the detector again while the tail is down or refused
 * (`clusterPollIntervalMs`). Real SDK clients against the emulator; the reconnect wait runs on a
 * virtual clock, so the "tail down" window lasts exactly as long as the test says.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import pino from 'pino';
import { createWatch } from '../../src/watch/engine.js';
import type { Harness } from './harness.js';
import { RecordingClock, collectHints, sourceFor, sourcesOf, startHarness } from './harness.js';

const P = 'proj-poll';
const IO = { timeout: 10_000, interval: 5 };
const LIVE_MS = 300_000;
const DOWN_MS = 5_000;
const LIST_JOBS = 'google.cloud.run.v2.Jobs/ListJobs';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('cheap poll interval follows the tail', () => {
  it('slow while the tail is live, short while it reconnects, slow again once it is back', async () => {
    const clock = new RecordingClock();
    h = await startHarness({ projects: [P], scheduler: clock, config: { livePollIntervalMs: LIVE_MS } });
    const sources = await sourcesOf(h, P);
    // Before any subscriber the tail is not open: the poll is the detector.
    for (const s of sources) expect(s.cheapPoll?.intervalMs, s.id).toBe(DOWN_MS);
    const log = collectHints(await sourceFor(h, P, 'services'));
    await vi.waitFor(() => expect(log.hints.some((x) => x.type === 'bookmark')).toBe(true), IO);
    await vi.waitFor(() => expect(h?.emu.openTails()).toBe(1), IO);
    // Every kind of the project that calls the API follows the one shared tail; the clusters kind
    // (no call) keeps the short period and moves LAST SEEN while the tail is live.
    for (const s of sources)
      expect(s.cheapPoll?.intervalMs, s.id).toBe(s.id.endsWith('/clusters') ? DOWN_MS : LIVE_MS);
    const clusters = sources.find((s) => s.id.endsWith('/clusters'));
    const calls = h.emu.calls.count();
    const seen = h.activity.length;
    await clusters?.cheapPoll?.poll();
    expect(h.emu.calls.count()).toBe(calls);
    expect(h.activity.length).toBeGreaterThan(seen);

    h.emu.faults.cutTails(status.UNAVAILABLE);
    await vi.waitFor(() => {
      clock.advance(0);
      expect(sources[1]?.cheapPoll?.intervalMs).toBe(DOWN_MS);
    }, IO);
    // While the tail is down the clusters kind proves nothing: LAST SEEN moves with the API polls.
    const quiet = h.activity.length;
    await clusters?.cheapPoll?.poll();
    expect(h.activity.length).toBe(quiet);
    for (const s of sources) expect(s.cheapPoll?.intervalMs, s.id).toBe(DOWN_MS);

    clock.advance(800); // the reconnect backoff
    await vi.waitFor(
      () => expect(h?.emu.calls.count('google.logging.v2.LoggingServiceV2/TailLogEntries')).toBe(2),
      IO,
    );
    await vi.waitFor(() => expect(sources[1]?.cheapPoll?.intervalMs).toBe(LIVE_MS), IO);
    log.sub.unsubscribe();
  });

  it('stays short while the tail is refused and the feed polls ListLogEntries', async () => {
    h = await startHarness({ projects: [P], config: { livePollIntervalMs: LIVE_MS } });
    h.emu.faults.refuseTail(1);
    const source = await sourceFor(h, P, 'jobs');
    const log = collectHints(source);
    await log.ready();
    expect(h.emu.openTails()).toBe(0);
    expect(source.cheapPoll?.intervalMs).toBe(DOWN_MS);
    log.sub.unsubscribe();
  });

  it("the engine's next poll comes within the short period once the tail drops, and slows down again once it is back", async () => {
    const clock = new RecordingClock();
    h = await startHarness({ projects: [P], scheduler: clock, config: { livePollIntervalMs: LIVE_MS } });
    const emu = h.emu;
    const source = await sourceFor(h, P, 'jobs');
    const watch = createWatch(source, { scheduler: clock, logger: pino({ level: 'silent' }) });
    watch.start();
    await vi.waitFor(() => {
      clock.advance(0);
      expect(watch.synced).toBe(true);
      expect(emu.openTails()).toBe(1);
      expect(source.cheapPoll?.intervalMs).toBe(LIVE_MS);
    }, IO);
    /** Moves the virtual clock by `ms` in steps, letting the loopback I/O each step starts finish. */
    const advance = async (ms: number, stepMs = 250): Promise<void> => {
      for (let t = 0; t < ms; t += stepMs) {
        clock.advance(stepMs);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const settleIo = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 100));
    // The poll armed when the tail was not open yet (short period) runs; the next waits LIVE_MS.
    const atSync = emu.calls.count(LIST_JOBS);
    await advance(DOWN_MS + 1_000);
    await vi.waitFor(() => expect(emu.calls.count(LIST_JOBS)).toBe(atSync + 1), IO);
    const listed = atSync + 1;
    await advance(60_000, 1_000);
    await settleIo();
    expect(emu.calls.count(LIST_JOBS), 'no poll while the tail is live').toBe(listed);

    emu.faults.cutTails(status.UNAVAILABLE);
    // The feed sees the cut over loopback I/O: the clock stands still until it has.
    await vi.waitFor(() => {
      clock.advance(0);
      expect(source.cheapPoll?.intervalMs).toBe(DOWN_MS);
    }, IO);
    // Within the short period of the drop, not the LIVE_MS still left: the clock stops there and
    // the poll it started is awaited in real time.
    await advance(DOWN_MS);
    await vi.waitFor(() => expect(emu.calls.count(LIST_JOBS)).toBe(listed + 1), IO);

    // The tail comes back (800 ms reconnect backoff): the poll is a safety net again.
    await vi.waitFor(async () => {
      await advance(250);
      expect(emu.calls.count('google.logging.v2.LoggingServiceV2/TailLogEntries')).toBe(2);
      expect(source.cheapPoll?.intervalMs).toBe(LIVE_MS);
    }, IO);
    await advance(DOWN_MS + 1_000); // a poll already armed at the short period may still run
    await settleIo();
    const after = emu.calls.count(LIST_JOBS);
    await advance(120_000, 1_000);
    await settleIo();
    expect(emu.calls.count(LIST_JOBS), 'no poll once the tail is back').toBe(after);
    await watch.stop();
  });
});
