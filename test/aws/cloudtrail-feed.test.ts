import { afterEach, describe, expect, it, vi } from 'vitest';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { Subscription } from 'rxjs';
import { awsCallPolicy } from '../../adapters/aws/call.js';
import { awsClientConfig } from '../../adapters/aws/client-config.js';
import { CloudTrailFeed, auditCursors } from '../../adapters/aws/cloudtrail-feed.js';
import type { AuditItem } from '../../adapters/aws/cloudtrail-feed.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { VirtualClock } from '../watch/virtual-clock.js';
import { ACCOUNT, REGION, makeDeps } from '../ecs/helpers.js';
import type { TestDeps } from '../ecs/helpers.js';

const MIN = 60_000;

let emu: EcsEmulator | undefined;
let client: CloudTrailClient | undefined;
let feed: CloudTrailFeed<string> | undefined;
const subs: Subscription[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe();
  feed?.close();
  client?.destroy();
  await emu?.stop();
  emu = undefined;
  client = undefined;
  feed = undefined;
});

interface Setup {
  clock: VirtualClock;
  emu: EcsEmulator;
  feed: CloudTrailFeed<string>;
  deps: TestDeps;
}

/** A feed over the emulator's CloudTrail whose refs are the event names; time is virtual. */
async function setup(): Promise<Setup> {
  const clock = new VirtualClock();
  await clock.advance(Date.UTC(2026, 10, 27, 10, 0, 0));
  emu = await startEcsEmulator({ now: () => clock.now() });
  const deps = makeDeps({ scheduler: clock.scheduler });
  client = new CloudTrailClient(
    awsClientConfig(REGION, { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' }, emu.endpoint, 1),
  );
  feed = new CloudTrailFeed<string>(deps, client, {
    account: ACCOUNT,
    region: REGION,
    provider: 'TEST',
    eventSource: 'ecs.amazonaws.com',
    settings: {
      lookupAttribute: 'EventSource',
      pollIntervalMs: 30_000,
      overlapMs: 5 * MIN,
      maxRequestsPerSecond: 1,
    },
    policy: awsCallPolicy('TEST', () => 'test:read'),
    map: (raw) => {
      const doc = JSON.parse(raw) as { eventName?: unknown };
      return { outcome: 'mapped', refs: [String(doc.eventName)] };
    },
  });
  return { clock, emu, feed, deps };
}

/**
 * Runs virtual time until `cond` holds: waits (real time) for the feed to be idle on a timer,
 * then fires the next timer; HTTP round trips to the emulator take no virtual time.
 */
async function until(clock: VirtualClock, cond: () => boolean, maxVirtualMs = 30 * MIN): Promise<void> {
  const deadline = clock.now() + maxVirtualMs;
  while (!cond()) {
    if (clock.now() > deadline) throw new Error('condition not met in virtual time');
    await vi.waitFor(
      () => {
        if (!cond() && clock.pendingActions === 0) throw new Error('feed busy');
      },
      { timeout: 5_000, interval: 2 },
    );
    const next = clock.scheduler.actions[0];
    if (cond() || next === undefined) continue;
    await clock.advanceTo(next.delay);
  }
}

function collect(f: CloudTrailFeed<string>, cursor?: string, accepts?: (i: AuditItem<string>) => boolean) {
  const items: AuditItem<string>[] = [];
  const state: { error: unknown; complete: boolean } = { error: undefined, complete: false };
  subs.push(
    f.subscribe(cursor, accepts).subscribe({
      next: (i) => items.push(i),
      error: (e: unknown) => (state.error = e),
      complete: () => (state.complete = true),
    }),
  );
  return { items, state };
}

const refsOf = (items: AuditItem<string>[]): string[] =>
  items.flatMap((i) => (i.type === 'refs' ? i.refs : []));
const bookmarksOf = (items: AuditItem<string>[]): number => items.filter((i) => i.type === 'bookmark').length;

function record(s: Setup, eventName: string): void {
  s.emu.cloudTrail.record({ region: REGION, eventName, readOnly: false, eventTimeMs: s.clock.now() });
}

describe('CloudTrail feed (shared AWS plumbing)', () => {
  it('subscribers share one set of LookupEvents calls, each through its own filter', async () => {
    const s = await setup();
    const all = collect(s.feed);
    const creates = collect(s.feed, undefined, (i) => i.type !== 'refs' || i.refs.includes('CreateService'));
    record(s, 'CreateService');
    record(s, 'DeleteService');
    await until(s.clock, () => bookmarksOf(all.items) >= 3 && bookmarksOf(creates.items) >= 3);
    expect(refsOf(all.items).sort()).toEqual(['CreateService', 'DeleteService']);
    expect(refsOf(creates.items).sort()).toEqual(['CreateService', 'DeleteService']);
    expect(all.items.filter((i) => i.type === 'refs')).toHaveLength(1);
    // One LookupEvents per window, for both subscribers together.
    expect(s.feed.requests).toBe(bookmarksOf(all.items));
  });

  it('an unreadable cursor is a gap (the engine relists), then the feed delivers from now', async () => {
    const s = await setup();
    const got = collect(s.feed, 'not-a-cursor');
    expect(got.items[0]).toMatchObject({
      type: 'gap',
      reason: expect.stringMatching(/unreadable cloudtrail-cursor/),
    });
    record(s, 'RunTask');
    await until(s.clock, () => refsOf(got.items).length > 0);
    expect(refsOf(got.items)).toEqual(['RunTask']);
    expect(got.state.error).toBeUndefined();
  });

  it('a cursor older than the 90 days of history is a gap, and the stream ends', async () => {
    const s = await setup();
    const got = collect(s.feed, auditCursors.encode({ t: s.clock.now() - 91 * 24 * 60 * MIN, ids: [] }));
    expect(got.items).toEqual([{ type: 'gap', reason: expect.stringMatching(/90 days/) }]);
    expect(got.state.complete).toBe(true);
  });

  it('throttled LookupEvents back off and read the window again: no error, each event once', async () => {
    const s = await setup();
    const got = collect(s.feed);
    s.emu.faults.throttleStorm(20_000, ['LookupEvents']);
    record(s, 'StopTask');
    await until(s.clock, () => refsOf(got.items).length > 0 && bookmarksOf(got.items) >= 2);
    expect(s.emu.calls.throttled('LookupEvents')).toBeGreaterThan(0);
    expect(got.state.error).toBeUndefined();
    expect(refsOf(got.items)).toEqual(['StopTask']);
  });

  it('close() completes every subscriber and leaves no timer behind', async () => {
    const s = await setup();
    const got = collect(s.feed);
    await until(s.clock, () => bookmarksOf(got.items) >= 1);
    s.feed.close();
    await s.clock.settle();
    expect(got.state.complete).toBe(true);
    await vi.waitFor(() => expect(s.clock.pendingActions).toBe(0), { timeout: 5_000, interval: 2 });
  });
});
