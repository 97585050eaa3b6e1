/**
 * The audit feed on its own (real LoggingServiceV2Client against the emulator): resume without gap
 * or duplicate across stream cuts, suppression -> gap, refused tail -> polling fallback.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { Subscription } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { pino } from 'pino';
import type { CloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { startCloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import type { CloudRunClients } from '../../adapters/cloudrun/client.js';
import { createCloudRunClients } from '../../adapters/cloudrun/client.js';
import type { FeedItem } from '../../adapters/cloudrun/audit-source.js';
import {
  AuditFeed,
  TAIL_OPEN_GRACE_MS,
  TAIL_RETRY_EVERY_POLLS,
} from '../../adapters/cloudrun/audit-source.js';
import { ApiBudget } from '../../src/watch/budget.js';
import { CLOUD_RUN_BUCKETS } from '../../adapters/cloudrun/limits.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { RecordingClock, configFor } from './harness.js';

const P = 'proj-feed';
const TAIL = 'google.logging.v2.LoggingServiceV2/TailLogEntries';
const LIST = 'google.logging.v2.LoggingServiceV2/ListLogEntries';

let emu: CloudRunEmulator;
let clients: CloudRunClients;
let feed: AuditFeed;
let sub: Subscription | undefined;

beforeEach(async () => {
  emu = await startCloudRunEmulator({ projects: { [P]: ['us-central1'] }, maxPageSize: 3 });
  clients = await createCloudRunClients(configFor(emu, [P], ['us-central1']), P);
  feed = new AuditFeed(
    P,
    clients.logging,
    {
      budget: new ApiBudget({}),
      metrics: new CoreMetrics(new Registry()),
      scheduler: asyncScheduler,
      logger: pino({ level: 'silent' }),
    },
    { bufferWindowMs: 0, logPollIntervalMs: 100 },
  );
});
afterEach(async () => {
  sub?.unsubscribe();
  sub = undefined;
  await clients.close();
  await emu.stop();
});

function collect(fromCursor?: string): { items: FeedItem[]; errors: unknown[] } {
  const items: FeedItem[] = [];
  const errors: unknown[] = [];
  sub = feed
    .items(fromCursor)
    .subscribe({ next: (i) => items.push(i), error: (e: unknown) => errors.push(e) });
  return { items, errors };
}

const insertIds = (items: FeedItem[]) =>
  items.flatMap((i) =>
    i.kind === 'entry' && typeof i.entry['insertId'] === 'string' ? [i.entry['insertId']] : [],
  );
const deploy = (name: string) => emu.fleet.deployService(P, 'us-central1', name, `gcr.io/${P}/${name}:1`);

describe('audit feed', () => {
  it('resumes after cuts (error and clean end) with entries written meanwhile: none lost, none duplicated', async () => {
    const got = collect();
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    const startCount = emu.fleet.log.count(P);
    deploy('a');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(2));
    emu.faults.cutTails(status.UNAVAILABLE);
    deploy('b'); // written while disconnected (reconnect waits 800 ms)
    deploy('c');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(6), { timeout: 5_000 });
    emu.faults.cutTails(); // clean end, as at the 1 h deadline
    deploy('d');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(8), { timeout: 5_000 });
    deploy('e');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(10), { timeout: 5_000 });
    const all = emu.fleet.log
      .query([P], { logNames: [] }, false)
      .slice(startCount)
      .map((e) => e.insertId);
    expect(new Set(insertIds(got.items))).toEqual(new Set(all));
    expect(insertIds(got.items)).toHaveLength(new Set(insertIds(got.items)).size);
    expect(emu.calls.count(TAIL)).toBe(3);
    expect(got.errors).toEqual([]);
    // cursors on items never go back
    const cursors = got.items.flatMap((i) => (i.kind === 'gap' ? [] : [i.cursor]));
    expect([...cursors].sort()).toEqual(cursors);
  });

  it('replays exactly the entries after a cursor, across ListLogEntries pages', async () => {
    for (const n of ['a', 'b', 'c']) deploy(n);
    await vi.waitFor(() => expect(emu.fleet.log.count(P)).toBe(6));
    const entries = emu.fleet.log.query([P], { logNames: [] }, false);
    const cut = entries[1];
    const cursor = `v1|${cut?.timestamp ?? ''}|${cut?.insertId ?? ''}`;
    const got = collect(cursor);
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    expect(insertIds(got.items)).toEqual(entries.slice(2).map((e) => e.insertId));
    expect(emu.calls.count(LIST)).toBeGreaterThanOrEqual(2);
  });

  it('reports suppression_info as a gap', async () => {
    const got = collect();
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    emu.faults.suppressTail(1, 'RATE_LIMIT');
    deploy('a');
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'gap')).toBe(true));
    const gap = got.items.find((i) => i.kind === 'gap');
    expect(gap?.kind === 'gap' && gap.reason).toMatch(/RATE_LIMIT x1/);
  });

  it('falls back to ListLogEntries polling when the tail is refused with RESOURCE_EXHAUSTED', async () => {
    emu.faults.refuseTail(1);
    const got = collect();
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    deploy('a');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(2), { timeout: 5_000 });
    const lists = emu.calls.count(LIST);
    await vi.waitFor(() => expect(emu.calls.count(LIST)).toBeGreaterThan(lists + 1));
    expect(emu.calls.count(TAIL)).toBe(1);
    expect(got.errors).toEqual([]);
  });

  it('tries the tail again after a while of polling', async () => {
    feed = new AuditFeed(
      P,
      clients.logging,
      {
        budget: new ApiBudget({}),
        metrics: new CoreMetrics(new Registry()),
        scheduler: asyncScheduler,
        logger: pino({ level: 'silent' }),
      },
      { bufferWindowMs: 0, logPollIntervalMs: 2 },
    );
    emu.faults.refuseTail(1);
    const got = collect();
    await vi.waitFor(() => expect(emu.calls.count(TAIL)).toBe(2), { timeout: 5_000 });
    expect(emu.calls.count(LIST)).toBeGreaterThanOrEqual(TAIL_RETRY_EVERY_POLLS);
    await vi.waitFor(() => expect(emu.openTails()).toBe(1));
    deploy('late');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(2));
  });

  it('a throttled catch-up is retried after the backoff: nothing lost, no error', async () => {
    for (const n of ['a', 'b']) deploy(n);
    await vi.waitFor(() => expect(emu.fleet.log.count(P)).toBe(4));
    emu.faults.failNext(LIST, status.RESOURCE_EXHAUSTED);
    const got = collect('v1|2026-01-01T00:00:00.000000000Z|');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(4), { timeout: 5_000 });
    // the refused call, then the two pages of the retried catch-up (3 entries a page)
    expect(emu.calls.count(LIST)).toBe(3);
    expect(got.errors).toEqual([]);
  });

  it('a non-retryable catch-up failure errors the stream (the engine resubscribes)', async () => {
    emu.faults.failNext(LIST, status.INVALID_ARGUMENT);
    const got = collect('v1|2026-01-01T00:00:00.000000000Z|');
    await vi.waitFor(() => expect(got.errors).toHaveLength(1));
    expect(got.errors[0]).toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('subscribers share one tail; a late one catches up from its own cursor', async () => {
    const first = collect();
    await vi.waitFor(() => expect(first.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    deploy('a');
    await vi.waitFor(() => expect(insertIds(first.items)).toHaveLength(2));
    const entries = emu.fleet.log.query([P], { logNames: [] }, false);
    const before = entries[0];
    const late: FeedItem[] = [];
    const lateSub = feed
      .items(`v1|${before?.timestamp ?? ''}|${before?.insertId ?? ''}`)
      .subscribe((i) => late.push(i));
    await vi.waitFor(() => expect(late.some((i) => i.kind === 'caughtUp')).toBe(true));
    expect(insertIds(late)).toEqual(entries.slice(1).map((e) => e.insertId));
    deploy('b');
    await vi.waitFor(() => expect(insertIds(late)).toHaveLength(3));
    await vi.waitFor(() => expect(insertIds(first.items)).toHaveLength(4));
    expect(emu.calls.count(TAIL)).toBe(1);
    expect(emu.openTails()).toBe(1);
    lateSub.unsubscribe();
    expect(emu.openTails()).toBe(1);
  });

  it('a subscriber joining inside what the live session covers is caught up without a ListLogEntries call', async () => {
    const first = collect();
    await vi.waitFor(() => expect(first.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    const startCount = emu.fleet.log.count(P);
    deploy('a');
    deploy('b');
    await vi.waitFor(() => expect(insertIds(first.items)).toHaveLength(4));
    const entries = emu.fleet.log.query([P], { logNames: [] }, false).slice(startCount);
    const at = entries[0];
    const lists = emu.calls.count(LIST);
    const late: FeedItem[] = [];
    const lateSub = feed
      .items(`v1|${at?.timestamp ?? ''}|${at?.insertId ?? ''}`)
      .subscribe((i) => late.push(i));
    await vi.waitFor(() => expect(late.some((i) => i.kind === 'caughtUp')).toBe(true));
    expect(insertIds(late)).toEqual(entries.slice(1).map((e) => e.insertId));
    expect(emu.calls.count(LIST)).toBe(lists);
    expect(feed.catchUps.replayed).toBe(1);
    deploy('c');
    await vi.waitFor(() => expect(insertIds(late)).toHaveLength(5));
    lateSub.unsubscribe();
  });

  it('counts each entry once whatever the number of subscribers, and passes only accepted entries', async () => {
    const metrics = new CoreMetrics(new Registry());
    feed = new AuditFeed(
      P,
      clients.logging,
      { budget: new ApiBudget({}), metrics, scheduler: asyncScheduler, logger: pino({ level: 'silent' }) },
      { bufferWindowMs: 0, logPollIntervalMs: 100 },
    );
    const all = collect();
    const jobsOnly: FeedItem[] = [];
    const jobsSub = feed
      .items(undefined, (m) => m.hints.some((h) => h.target.kind === 'job'))
      .subscribe((i) => jobsOnly.push(i));
    await vi.waitFor(() => expect(jobsOnly.some((i) => i.kind === 'caughtUp')).toBe(true));
    await vi.waitFor(() => expect(all.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    deploy('a');
    emu.fleet.createJob(P, 'us-central1', 'etl', `gcr.io/${P}/etl:1`);
    await vi.waitFor(() => expect(insertIds(all.items).length).toBeGreaterThanOrEqual(3));
    await vi.waitFor(() => expect(insertIds(jobsOnly)).toHaveLength(1));
    const counted =
      (await metrics.registry.getSingleMetric('sightline_audit_entries_total')?.get())?.values ?? [];
    const total = counted.reduce((n, v) => n + v.value, 0);
    expect(total).toBe(insertIds(all.items).length);
    jobsSub.unsubscribe();
  });

  it('an unreadable cursor is a gap, then the feed starts from now', async () => {
    const got = collect('garbage');
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true));
    expect(got.items[0]).toMatchObject({
      kind: 'gap',
      reason: expect.stringMatching(/unreadable audit cursor/),
    });
  });
});

/** Waits for loopback I/O (gRPC round trips) in the virtual-time tests: the clock itself never runs on its own. */
const IO = { timeout: 10_000, interval: 5 };

describe('audit feed waits on the injected clock', () => {
  let clock: RecordingClock;
  beforeEach(() => {
    clock = new RecordingClock();
    feed = new AuditFeed(
      P,
      clients.logging,
      {
        budget: new ApiBudget({}),
        metrics: new CoreMetrics(new Registry()),
        scheduler: clock,
        logger: pino({ level: 'silent' }),
      },
      { bufferWindowMs: 0, logPollIntervalMs: 100 },
    );
  });

  it('opening the tail does not wait behind the Logging read budget (its own bucket)', async () => {
    const budget = new ApiBudget(CLOUD_RUN_BUCKETS, 1, clock);
    feed = new AuditFeed(
      P,
      clients.logging,
      {
        budget,
        metrics: new CoreMetrics(new Registry()),
        scheduler: clock,
        logger: pino({ level: 'silent' }),
      },
      { bufferWindowMs: 0, logPollIntervalMs: 100 },
    );
    // Reads took every logging:read token: the next read waits for the refill.
    const burst = CLOUD_RUN_BUCKETS['logging:read']?.burst ?? 1;
    for (let i = 0; i < burst; i++) await budget.acquire('logging:read');
    const got = collect();
    await vi.waitFor(() => expect(emu.openTails()).toBe(1), IO);
    expect(emu.calls.count(LIST)).toBe(0);
    expect(got.items).toEqual([]);
    // The catch-up read gets its token after the refill, in virtual time.
    clock.advance(1_000);
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true), IO);
    expect(emu.calls.count(LIST)).toBe(1);
  });

  it('an unconfirmed tail is given the open grace in virtual time before catch-up starts', async () => {
    emu.faults.withholdTailConfirmation(1);
    const got = collect();
    await vi.waitFor(() => expect(clock.due).toContain(TAIL_OPEN_GRACE_MS), IO);
    await vi.waitFor(() => expect(emu.openTails()).toBe(1), IO);
    clock.advance(TAIL_OPEN_GRACE_MS - 1);
    expect(emu.calls.count(LIST)).toBe(0);
    expect(got.items).toEqual([]);
    clock.advance(1);
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true), IO);
    expect(emu.calls.count(LIST)).toBe(1);
    deploy('a');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(2), IO);
    expect(got.errors).toEqual([]);
  });

  it('reconnects after 800 ms then 1600 ms of virtual time, and unsubscribing leaves no timer', async () => {
    const got = collect();
    await vi.waitFor(() => expect(got.items.some((i) => i.kind === 'caughtUp')).toBe(true), IO);
    emu.faults.cutTails(status.UNAVAILABLE);
    const firstWait = clock.now() + 800;
    await vi.waitFor(() => expect(clock.due).toContain(firstWait), IO);
    clock.advance(799);
    expect(emu.calls.count(TAIL)).toBe(1);
    const caughtUp = got.items.filter((i) => i.kind === 'caughtUp').length;
    clock.advance(1);
    await vi.waitFor(() => expect(emu.openTails()).toBe(1), IO);
    expect(emu.calls.count(TAIL)).toBe(2);
    // A clean end: the end event gives a pending error a turn (0 ms on the clock), then backs off.
    await vi.waitFor(
      () => expect(got.items.filter((i) => i.kind === 'caughtUp').length).toBeGreaterThan(caughtUp),
      IO,
    );
    emu.faults.cutTails();
    const cutAt = clock.now();
    await vi.waitFor(() => {
      clock.advance(0);
      expect(clock.due).toContain(cutAt + 1600);
    }, IO);
    clock.advance(1599);
    expect(emu.calls.count(TAIL)).toBe(2);
    clock.advance(1);
    await vi.waitFor(() => expect(emu.calls.count(TAIL)).toBe(3), IO);
    deploy('b');
    await vi.waitFor(() => expect(insertIds(got.items)).toHaveLength(2), IO);
    sub?.unsubscribe();
    sub = undefined;
    await vi.waitFor(() => expect(emu.openTails()).toBe(0), IO);
    expect(clock.time.actions).toHaveLength(0);
    expect(got.errors).toEqual([]);
  });
});
