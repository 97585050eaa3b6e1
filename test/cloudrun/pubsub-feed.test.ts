/**
 * Cloud Run in pushed mode (`changeFeed.source: pubsub`): the adapter's sources under real watch
 * engines, fed by the emulator's Log Router sink through Pub/Sub and read with the real
 * @google-cloud/pubsub client. The daemon's part (calling `durable` once a BOOKMARK or RELIST done
 * is in the outbox) is played by `acknowledge`, which can be held back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PubSub } from '@google-cloud/pubsub';
import type { SchedulerLike, Subscription } from 'rxjs';
import { DURABLE_WAIT_MS } from '../../adapters/cloudrun/pushed-feed.js';
import { WarpScheduler } from '../ecs/helpers.js';
import type { CloudRunConfig } from '../../adapters/cloudrun/config.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { WatchSource } from '../../src/watch/source.js';
import type { EventLog, Harness } from './harness.js';
import {
  RecordingClock,
  eventWorkload,
  metricValue,
  sourcesOf,
  startHarness,
  watchSource,
} from './harness.js';

/** Conditions are waited for, never slept on; the bound only ends a broken run. */
const WAIT = { timeout: 20_000, interval: 10 };

const P = 'proj-alpha';
const R = 'us-central1';
const TOPIC = 'projects/sink-host/topics/run-audit';
const SUB = 'projects/sink-host/subscriptions/sightline';
const FEED = `pubsub/${SUB}`;
const TAIL = 'google.logging.v2.LoggingServiceV2/TailLogEntries';
const PULL = 'google.pubsub.v1.Subscriber/StreamingPull';

interface Pushed {
  h: Harness;
  log: EventLog;
  sources: WatchSource<ClusterObject>[];
  brokerClock: RecordingClock;
  /** Whether BOOKMARKs are reported durable (the daemon's outbox write) right away. */
  acking: { on: boolean; held: Array<() => void> };
  stop(): Promise<void>;
}

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop();
});

function pushedConfig(extra: Partial<CloudRunConfig> = {}): Partial<CloudRunConfig> {
  return {
    changeFeed: { source: 'pubsub', subscription: SUB, silenceMs: 1_000, maxOutstandingMessages: 100 },
    ...extra,
  };
}

async function watchPushed(h: Harness, brokerClock: RecordingClock): Promise<Pushed> {
  const sources = await sourcesOf(h, P);
  const log = await watchSource(sources);
  const acking = { on: true, held: [] as Array<() => void> };
  const subs: Subscription[] = log.watches.map((w, i) =>
    w.events$.subscribe((e) => {
      const cursor =
        e.type === 'BOOKMARK' || (e.type === 'RELIST' && e.phase === 'done') ? e.cursor : undefined;
      if (cursor === undefined) return;
      const ack = () => sources[i]?.durable?.(cursor);
      if (acking.on) ack();
      else acking.held.push(ack);
    }),
  );
  const stop = async () => {
    for (const s of subs) s.unsubscribe();
    await log.stop();
  };
  return { h, log, sources, brokerClock, acking, stop };
}

async function startPushed(
  o: {
    random?: () => number;
    config?: Partial<CloudRunConfig>;
    deploys?: string[];
    scheduler?: SchedulerLike;
  } = {},
): Promise<Pushed> {
  const brokerClock = new RecordingClock();
  const h = await startHarness({
    emulator: {
      projects: { [P]: [R], 'proj-foreign': [R] },
      logSink: {
        topic: TOPIC,
        subscription: SUB,
        ackDeadlineS: 10,
        scheduler: brokerClock,
        ...(o.random ? { random: o.random } : {}),
      },
    },
    projects: [P],
    config: pushedConfig(o.config),
    ...(o.scheduler ? { scheduler: o.scheduler } : {}),
  });
  for (const d of o.deploys ?? []) h.emu.fleet.deployService(P, R, d, `gcr.io/${P}/${d}:1`, { silent: true });
  const p = await watchPushed(h, brokerClock);
  running.push(async () => {
    await p.stop();
    await h.close();
  });
  return p;
}

const deploy = (p: Pushed, name: string, tag = '1') =>
  p.h.emu.fleet.deployService(P, R, name, `gcr.io/${P}/${name}:${tag}`);
const added = (p: Pushed, name: string) =>
  p.log.waitFor(
    (e) => e.type === 'ADDED' && eventWorkload(e, 'run.googleapis.com/Service', name) !== undefined,
    `ADDED ${name}`,
    15_000,
  );
const eventsOf = (p: Pushed, name: string) =>
  p.log.events
    .filter((e) => eventWorkload(e, 'run.googleapis.com/Service', name) !== undefined)
    .map((e) => e.type);
const stats = (p: Pushed) => p.h.emu.pubsub?.stats(SUB) ?? { ready: -1, outstanding: -1, acked: -1 };
const messages = (p: Pushed, outcome: string) =>
  metricValue(p.h.metrics, 'sightline_change_feed_messages_total', { feed: FEED, outcome });

describe('Cloud Run pushed mode (Pub/Sub)', () => {
  it('a deploy reaches the console through the feed, without a tail; every message is acked once durable', async () => {
    const p = await startPushed();
    deploy(p, 'web');
    await added(p, 'web');
    expect(p.h.emu.calls.count(TAIL)).toBe(0);
    expect(p.h.emu.calls.count(PULL)).toBe(1);
    await vi.waitFor(() => expect(stats(p)).toEqual({ ready: 0, outstanding: 0, acked: 2 }), WAIT);
    expect(await messages(p, 'delivered')).toBe(2);
    expect(p.h.adapter.health?.()).toMatchObject({ ok: true, detail: { mode: 'pubsub' } });
  });

  it('acks only after the bookmark is durable, and redelivery after a restart before the ack changes nothing', async () => {
    const p = await startPushed();
    p.acking.on = false;
    deploy(p, 'web');
    await added(p, 'web');
    await vi.waitFor(() => expect(p.acking.held.length).toBeGreaterThan(0), WAIT);
    await vi.waitFor(() => expect(stats(p).outstanding).toBe(2), WAIT);
    expect(stats(p).acked).toBe(0);
    // The process dies before the outbox write: nothing acked, the deadline passes.
    await p.stop();
    await p.h.adapter.close();
    await vi.waitFor(() => expect(p.h.emu.openStreamingPulls()).toBe(0), WAIT);
    p.brokerClock.advance(11_000);
    await vi.waitFor(() => expect(stats(p)).toMatchObject({ ready: 2, outstanding: 0 }), WAIT);
    // A new process: it lists (the service is there), then gets both messages again.
    const { createCloudRunAdapter } = await import('../../adapters/cloudrun/index.js');
    const h2: Harness = { ...p.h, adapter: createCloudRunAdapter(p.h.config, p.h.deps) };
    const p2 = await watchPushed(h2, p.brokerClock);
    running.push(async () => {
      await p2.stop();
      await h2.adapter.close();
    });
    await vi.waitFor(() => expect(stats(p2)).toEqual({ ready: 0, outstanding: 0, acked: 2 }), WAIT);
    expect(eventsOf(p2, 'web')).toEqual(['ADDED']);
  });

  it('a message its source never makes durable is acked after DURABLE_WAIT_MS and the source relists', async () => {
    // The adapter's clock runs at real speed and is moved forward by hand; the engines' is real.
    const clock = new WarpScheduler(1, Date.now());
    const p = await startPushed({ scheduler: clock });
    p.acking.on = false; // the outbox write keeps failing
    deploy(p, 'web');
    await added(p, 'web');
    await vi.waitFor(() => expect(stats(p).outstanding).toBe(2), WAIT);
    const relists = () => p.log.events.filter((e) => e.type === 'RELIST' && e.cause === 'gap').length;
    expect(relists()).toBe(0);
    clock.advance(DURABLE_WAIT_MS);
    // The next watchdog tick gives up on the held source: the messages are acked (the flow-control
    // window is free again for every project) and the source relists, which covers them.
    await vi.waitFor(() => expect(stats(p)).toEqual({ ready: 0, outstanding: 0, acked: 2 }), WAIT);
    await vi.waitFor(() => expect(relists()).toBeGreaterThan(0), WAIT);
  });

  it('duplicates and reordering have no effect', async () => {
    const p = await startPushed({ random: () => 0 });
    const broker = p.h.emu.pubsub;
    if (!broker) throw new Error('no broker');
    broker.knobs.duplicateRate = 1;
    broker.knobs.reorderRate = 1;
    deploy(p, 'a');
    deploy(p, 'b');
    broker.flushHeld();
    await added(p, 'a');
    await added(p, 'b');
    // Each deploy writes two entries (the Ready one a moment later): four duplicates in all.
    await vi.waitFor(async () => {
      broker.flushHeld();
      expect(await messages(p, 'duplicate')).toBe(4);
    }, WAIT);
    await vi.waitFor(() => expect(stats(p)).toMatchObject({ ready: 0, outstanding: 0 }), WAIT);
    expect(eventsOf(p, 'a')).toEqual(['ADDED']);
    expect(eventsOf(p, 'b')).toEqual(['ADDED']);
  });

  it('a message the sink lost is caught by the safety-net poll', async () => {
    const p = await startPushed({ config: { livePollIntervalMs: 1_000 } });
    const broker = p.h.emu.pubsub;
    if (!broker) throw new Error('no broker');
    broker.knobs.lossRate = 1;
    deploy(p, 'lost');
    await added(p, 'lost');
    expect(await messages(p, 'delivered')).toBe(0);
  });

  it('a poison message and a foreign project are counted and acked', async () => {
    const p = await startPushed();
    const client = new PubSub({
      projectId: 'sink-host',
      apiEndpoint: `127.0.0.1:${p.h.emu.pubsubEndpoint?.port ?? 0}`,
      emulatorMode: true,
      universeDomain: 'googleapis.com',
    });
    running.push(() => client.close());
    await client.topic(TOPIC).publishMessage({ data: Buffer.from('{"not": "a log entry"') });
    p.h.emu.fleet.deployService('proj-foreign', R, 'other', 'gcr.io/x/other:1');
    await vi.waitFor(async () => expect(await messages(p, 'unparseable')).toBe(1), WAIT);
    await vi.waitFor(async () => expect(await messages(p, 'foreign')).toBe(2), WAIT);
    await vi.waitFor(() => expect(stats(p)).toEqual({ ready: 0, outstanding: 0, acked: 3 }), WAIT);
    deploy(p, 'after');
    await added(p, 'after');
  });

  it('an outage falls back to the tail (health, metric), and the feed takes over again when it returns', async () => {
    const p = await startPushed();
    const broker = p.h.emu.pubsub;
    if (!broker) throw new Error('no broker');
    const fallback = () => metricValue(p.h.metrics, 'sightline_change_feed_fallback', { feed: FEED });
    broker.setOutage(true);
    await vi.waitFor(async () => expect(await fallback()).toBe(1), WAIT);
    expect(p.h.adapter.health?.()).toMatchObject({ ok: true, detail: { mode: 'fallback' } });
    deploy(p, 'during');
    await added(p, 'during');
    expect(p.h.emu.calls.count(TAIL)).toBeGreaterThan(0);
    broker.setOutage(false);
    await vi.waitFor(async () => expect(await fallback()).toBe(0), WAIT);
    await vi.waitFor(() => expect(p.h.emu.openTails()).toBe(0), WAIT);
    const delivered = await messages(p, 'delivered');
    deploy(p, 'after');
    await added(p, 'after');
    await vi.waitFor(async () => expect(await messages(p, 'delivered')).toBeGreaterThan(delivered), WAIT);
    expect(p.h.adapter.health?.()).toMatchObject({ ok: true, detail: { mode: 'pubsub' } });
  }, 60_000);
});
