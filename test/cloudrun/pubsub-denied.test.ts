/**
 * Pushed mode when the reader may not read the subscription (GetSubscription denied, as GCP
 * answers without roles/pubsub.viewer): the feed stays in fallback and says why in /healthz, the
 * project's tail carries the changes, and the feed takes over once the grant is there.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventWorkload, metricValue, sourcesOf, startHarness, watchSource } from './harness.js';
import type { EventLog, Harness } from './harness.js';

/** Conditions are waited for, never slept on; the bound only ends a broken run. */
const WAIT = { timeout: 20_000, interval: 10 };
const P = 'proj-alpha';
const SUB = 'projects/sink-host/subscriptions/sightline';
const GET_SUBSCRIPTION = 'google.pubsub.v1.Subscriber/GetSubscription';

let h: Harness | undefined;
let log: EventLog | undefined;
afterEach(async () => {
  await log?.stop();
  await h?.close();
  log = undefined;
  h = undefined;
});

describe('Cloud Run pushed mode without access to the subscription', () => {
  it('falls back to the tail, names the missing permission, and returns once granted', async () => {
    h = await startHarness({
      emulator: { logSink: { topic: 'projects/sink-host/topics/run-audit', subscription: SUB } },
      config: {
        changeFeed: { source: 'pubsub', subscription: SUB, silenceMs: 1_000, maxOutstandingMessages: 10 },
      },
    });
    const harness = h;
    harness.emu.faults.denyPermission(GET_SUBSCRIPTION, 'pubsub.subscriptions.get');
    log = await watchSource(await sourcesOf(harness, P));
    const fallback = () =>
      metricValue(harness.metrics, 'sightline_change_feed_fallback', { feed: `pubsub/${SUB}` });
    await vi.waitFor(async () => expect(await fallback()).toBe(1), WAIT);
    const health = harness.adapter.health?.();
    expect(health).toMatchObject({ ok: true, detail: { mode: 'fallback' } });
    expect(JSON.stringify(health)).toContain('pubsub.subscriptions.get');
    expect(harness.emu.openStreamingPulls()).toBe(0);
    harness.emu.fleet.deployService(P, 'us-central1', 'web', 'gcr.io/p/web:1');
    await log.waitFor(
      (e) => eventWorkload(e, 'run.googleapis.com/Service', 'web') !== undefined,
      'web through the tail',
      20_000,
    );
    harness.emu.faults.allowAll();
    await vi.waitFor(async () => expect(await fallback()).toBe(0), { timeout: 45_000, interval: 10 });
    expect(harness.adapter.health?.()).toMatchObject({ detail: { mode: 'pubsub' } });
    await vi.waitFor(() => expect(harness.emu.openStreamingPulls()).toBe(1), WAIT);
  }, 60_000);
});
