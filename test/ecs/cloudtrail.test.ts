import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Subscription } from 'rxjs';
import { clusterId } from '../../src/model/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { Hint, WatchSource } from '../../src/watch/source.js';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { EcsAdapter, EcsRegionSources } from '../../adapters/ecs/index.js';
import { mapCloudTrailEvent } from '../../adapters/ecs/audit-mapping.js';
import { auditCursors } from '../../adapters/aws/cloudtrail-feed.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { ACCOUNT, REGION, WarpScheduler, auditCount, ecsConfig, makeDeps } from './helpers.js';
import type { TestDeps } from './helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const samplesDir = path.resolve(repoRoot, 'test', 'fixtures', 'samples', 'cloudtrail-ecs');
const MIN = 60_000;

let emu: EcsEmulator | undefined;
let adapter: EcsAdapter | undefined;
const subs: Subscription[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe();
  await adapter?.close();
  await emu?.stop();
  adapter = undefined;
  emu = undefined;
});

interface Setup {
  emu: EcsEmulator;
  r: EcsRegionSources;
  deps: TestDeps;
  sched: WarpScheduler;
}

async function setup(
  options: { deliveryDelayMs?: number; lookupAttribute?: 'EventSource' | 'ReadOnly' } = {},
): Promise<Setup> {
  const sched = new WarpScheduler(600); // one virtual minute = 100 ms
  emu = await startEcsEmulator({
    now: () => sched.now(),
    cloudTrailDeliveryDelayMs: options.deliveryDelayMs ?? 0,
  });
  emu.fleet.createCluster({ name: 'prod', recordEvent: false });
  emu.fleet.registerTaskDefinition({
    family: 'job',
    containers: [{ name: 'job', image: 'busybox:1.36' }],
    recordEvent: false,
  });
  const deps = makeDeps({ scheduler: sched });
  adapter = createEcsAdapter(
    ecsConfig(emu.endpoint, { cloudTrail: { lookupAttribute: options.lookupAttribute ?? 'EventSource' } }),
    deps,
  );
  const [r] = adapter.regions();
  if (!r) throw new Error('no region');
  return { emu, r, deps, sched };
}

function collect(source: WatchSource<ClusterObject>, cursor?: string): Hint<ClusterObject>[] {
  const got: Hint<ClusterObject>[] = [];
  subs.push(source.hints(cursor).subscribe({ next: (h) => got.push(h) }));
  return got;
}

const keysOf = (hints: Hint<ClusterObject>[]): string[] =>
  hints.flatMap((h) => (h.type === 'changed' ? [h.key] : []));
const bookmarks = (hints: Hint<ClusterObject>[]): string[] =>
  hints.flatMap((h) => (h.type === 'bookmark' ? [h.cursor] : []));

describe('CloudTrail audit source', () => {
  it('waits out the delivery delay and sees an event that arrives late, inside the overlap window', async () => {
    const s = await setup({ deliveryDelayMs: 5 * MIN });
    const hints = collect(s.r.tasks);
    const [t] = s.emu.fleet.runTask({ cluster: 'prod', taskDefinition: 'job' });
    const ranAt = s.sched.now();
    let seenAt = 0;
    await vi.waitFor(
      () => {
        expect(keysOf(hints).some((k) => k.endsWith(t?.arn ?? '-'))).toBe(true);
        seenAt = seenAt || s.sched.now();
      },
      { timeout: 8000, interval: 10 },
    );
    expect(seenAt - ranAt).toBeGreaterThanOrEqual(5 * MIN);

    // An event 10 minutes old when delivered (the cursor has passed its time): inside the 20 min overlap.
    const lateArn = s.emu.fleet.arn(REGION, 'task/prod/0123456789abcdef0123456789abcdef');
    s.emu.cloudTrail.record({
      region: REGION,
      eventName: 'RunTask',
      readOnly: false,
      requestParameters: { cluster: 'prod' },
      responseElements: {
        tasks: [{ taskArn: lateArn, clusterArn: s.emu.fleet.arn(REGION, 'cluster/prod') }],
      },
      eventTimeMs: s.sched.now() - 10 * MIN,
      deliveryDelayMs: 11 * MIN,
    });
    // One 30 minutes late: beyond the overlap, the documented limit (a relist or the cheap poll covers it).
    const tooLateArn = s.emu.fleet.arn(REGION, 'task/prod/fedcba9876543210fedcba9876543210');
    s.emu.cloudTrail.record({
      region: REGION,
      eventName: 'RunTask',
      readOnly: false,
      responseElements: { tasks: [{ taskArn: tooLateArn }] },
      requestParameters: { cluster: 'prod' },
      eventTimeMs: s.sched.now() - 30 * MIN,
      deliveryDelayMs: 31 * MIN,
    });
    await vi.waitFor(() => expect(keysOf(hints).some((k) => k.endsWith(lateArn))).toBe(true), {
      timeout: 8000,
      interval: 10,
    });
    const marks = bookmarks(hints).length;
    await vi.waitFor(() => expect(bookmarks(hints).length).toBeGreaterThan(marks + 2), {
      timeout: 8000,
      interval: 10,
    });
    expect(keysOf(hints).some((k) => k.endsWith(tooLateArn))).toBe(false);
  });

  it('delivers each event once across overlapping windows and across a resume from a bookmark', async () => {
    const s = await setup();
    const hints = collect(s.r.tasks);
    const [t1] = s.emu.fleet.runTask({ cluster: 'prod', taskDefinition: 'job' });
    await vi.waitFor(() => expect(keysOf(hints)).toHaveLength(1), { timeout: 5000, interval: 10 });
    const marks = bookmarks(hints).length;
    await vi.waitFor(() => expect(bookmarks(hints).length).toBeGreaterThan(marks + 3), {
      timeout: 8000,
      interval: 10,
    });
    expect(keysOf(hints)).toEqual([expect.stringMatching(new RegExp(`${t1?.arn ?? '-'}$`))]);
    expect(await auditCount(s.deps, 'duplicate')).toBeGreaterThan(0);

    // Resume from the last bookmark: the seen event is not replayed, a new one is delivered.
    const cursor = bookmarks(hints).pop();
    for (const sub of subs.splice(0)) sub.unsubscribe();
    const [t2] = s.emu.fleet.runTask({ cluster: 'prod', taskDefinition: 'job' });
    const resumed = collect(s.r.tasks, cursor);
    await vi.waitFor(() => expect(bookmarks(resumed).length).toBeGreaterThan(1), {
      timeout: 8000,
      interval: 10,
    });
    expect(keysOf(resumed)).toEqual([expect.stringMatching(new RegExp(`${t2?.arn ?? '-'}$`))]);
  });

  it('a cursor older than 90 days is a gap', async () => {
    const s = await setup();
    const hints = collect(
      s.r.clusters,
      auditCursors.encode({ t: s.sched.now() - 91 * 24 * 60 * MIN, ids: [] }),
    );
    await vi.waitFor(() => expect(hints[0]).toMatchObject({ type: 'gap' }), { timeout: 2000, interval: 10 });
  });

  it('ignores errored and read-only events, counts malformed records and keeps going', async () => {
    const s = await setup();
    await s.r.clusters.list(undefined); // our own reads are in the trail too
    const hints = collect(s.r.clusters);
    s.emu.cloudTrail.record({
      region: REGION,
      eventName: 'CreateCluster',
      readOnly: false,
      requestParameters: { clusterName: 'denied' },
      errorCode: 'AccessDeniedException',
    });
    s.emu.cloudTrail.recordRaw('{"eventName": "CreateCluster", "eventTime": ', { region: REGION });
    s.emu.cloudTrail.recordRaw('[1,2,3]', { region: REGION });
    s.emu.fleet.createCluster({ name: 'after' });
    await vi.waitFor(
      () =>
        expect(
          keysOf(hints)
            .filter((k) => k.startsWith('namespace/'))
            .map((k) => k.split('/').pop()),
        ).toEqual(['after']),
      { timeout: 5000, interval: 10 },
    );
    expect(await auditCount(s.deps, 'malformed')).toBe(2);
    expect(await auditCount(s.deps, 'errored')).toBe(1);
    expect(await auditCount(s.deps, 'read')).toBeGreaterThan(0); // the watcher's own reads, EventSource mode
  });

  it('reads the real CloudTrail samples: CreateCluster -> hint; PutAccountSettingDefault and ConsoleLogin ignored', async () => {
    const createCluster = readFileSync(path.join(samplesDir, 'CreateCluster-1.json'), 'utf8');
    const putSetting = readFileSync(path.join(samplesDir, 'PutAccountSettingDefault-1.json'), 'utf8');
    const lookup = JSON.parse(
      readFileSync(path.join(samplesDir, 'LookupEvents-response-1.json'), 'utf8'),
    ) as {
      Events: Array<{ CloudTrailEvent: string }>;
    };
    // Pure mapping, in each record's own region.
    const mapped = mapCloudTrailEvent(createCluster, 'us-east-1', ACCOUNT);
    expect(mapped).toMatchObject({
      outcome: 'mapped',
      refs: [
        { kind: 'cluster', clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/default', deleted: false },
      ],
    });
    expect(mapCloudTrailEvent(putSetting, 'us-gov-east-1', ACCOUNT)).toMatchObject({
      outcome: 'ignored',
      refs: [],
    });
    for (const e of lookup.Events)
      expect(mapCloudTrailEvent(e.CloudTrailEvent, 'us-east-1', ACCOUNT).outcome).toBe('ignored');

    // Through the wire, in ReadOnly=false mode (the ConsoleLogin record has no readOnly field and is returned).
    const s = await setup({ lookupAttribute: 'ReadOnly' });
    const hints = collect(s.r.clusters);
    s.emu.cloudTrail.recordRaw(createCluster, { region: REGION });
    s.emu.cloudTrail.recordRaw(putSetting, { region: REGION });
    for (const e of lookup.Events) s.emu.cloudTrail.recordRaw(e.CloudTrailEvent, { region: REGION });
    const defaultArn = 'arn:aws:ecs:us-east-1:123456789012:cluster/default';
    // Wait until every record was read: under load the records can fall into two poll windows (the
    // first window may close between them), so seeing the mapped one says nothing about the others.
    const ignored = async () =>
      (await auditCount(s.deps, 'ignored')) + (await auditCount(s.deps, 'other-region'));
    await vi.waitFor(
      async () => {
        expect(bookmarks(hints).length).toBeGreaterThan(0);
        expect(await auditCount(s.deps, 'mapped')).toBe(1);
        expect(await ignored()).toBe(2);
      },
      { timeout: 10_000, interval: 10 },
    );
    expect(keysOf(hints).sort()).toEqual(
      [`cluster/${clusterId('ECS', defaultArn)}`, `namespace/${clusterId('ECS', defaultArn)}/default`].sort(),
    );
    // Re-read windows (the overlap) do not count a record twice.
    const windows = bookmarks(hints).length;
    await vi.waitFor(() => expect(bookmarks(hints).length).toBeGreaterThan(windows), {
      timeout: 10_000,
      interval: 10,
    });
    expect(await auditCount(s.deps, 'mapped')).toBe(1);
    expect(await ignored()).toBe(2);
  });

  it('paces LookupEvents at maxRequestsPerSecond (1 by default) across the pages of a window', async () => {
    const s = await setup({ lookupAttribute: 'ReadOnly' });
    for (let i = 0; i < 140; i++) s.emu.fleet.createCluster({ name: `burst-${i}` }); // 3 pages a window
    const hints = collect(s.r.clusters);
    await vi.waitFor(() => expect(bookmarks(hints).length).toBeGreaterThan(1), {
      timeout: 8000,
      interval: 10,
    });
    const calls = s.emu.cloudTrail
      .lookup(REGION, { attributeKey: 'EventName', attributeValue: 'LookupEvents', maxResults: 1000 })
      .events.map((e) => e.eventTimeMs)
      .sort((a, b) => a - b);
    expect(calls.length).toBeGreaterThanOrEqual(6);
    const gaps = calls.slice(1).map((t, i) => t - (calls[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(999);
    expect(keysOf(hints).filter((k) => k.startsWith('namespace/'))).toHaveLength(140);
  });
});
