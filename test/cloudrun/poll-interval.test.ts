/**
 * Cost at rest: a kind source's cheap poll is a safety net while the project's audit tail is live
 * (`livePollIntervalMs`) and the detector again while the tail is down or refused
 * (`clusterPollIntervalMs`). Real SDK clients against the emulator; the reconnect wait runs on a
 * virtual clock, so the "tail down" window lasts exactly as long as the test says.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { Harness } from './harness.js';
import { RecordingClock, collectHints, sourceFor, sourcesOf, startHarness } from './harness.js';

const P = 'proj-poll';
const IO = { timeout: 10_000, interval: 5 };
const LIVE_MS = 300_000;
const DOWN_MS = 5_000;

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
});
