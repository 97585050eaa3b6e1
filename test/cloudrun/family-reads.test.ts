/**
 * What a service's family expansion costs: the engine's worker reads the hinted service, asks
 * `childKeysOf` for its serving revisions, then reads them. The service is read once for all three
 * steps (GetService), each revision once (GetRevision). No engine runs here, so the counts are the
 * expansion's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workloadKey } from '../../adapters/cloudrun/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { WatchSource } from '../../src/watch/source.js';
import { keyOfNamed } from '../../src/watch/source.js';
import type { Harness } from './harness.js';
import { listAll, sourceFor, startHarness } from './harness.js';

const P = 'proj-alpha';
const R = 'us-central1';
const GET_SERVICE = 'google.cloud.run.v2.Services/GetService';
const GET_REVISION = 'google.cloud.run.v2.Revisions/GetRevision';

let h: Harness;
let source: WatchSource<ClusterObject>;

beforeAll(async () => {
  h = await startHarness({ projects: [P], regions: [R] });
  h.emu.fleet.deployService(P, R, 'web', 'us-docker.pkg.dev/proj-alpha/app/web:1.0');
  h.emu.fleet.rollService(P, R, 'web', 'us-docker.pkg.dev/proj-alpha/app/web:2.0');
  const revs = [...h.emu.fleet.revisions.values()].filter((r) => r.short.startsWith('web-'));
  h.emu.fleet.splitTraffic(
    P,
    R,
    'web',
    revs.map((r) => ({ revision: r.short, percent: 50 })),
  );
  source = await sourceFor(h, P);
  await listAll(source);
});
afterAll(async () => {
  await h.close();
});

describe('a Cloud Run family expansion', () => {
  it('reads the service once and each serving revision once', async () => {
    const key = workloadKey(P, R, `projects/${P}/locations/${R}/services/web`);
    const services = h.emu.calls.count(GET_SERVICE);
    const revisions = h.emu.calls.count(GET_REVISION);

    const parent = (await source.getMany?.([key, `${key}-absent`]))?.get(key);
    expect(parent?.kind).toBe('workload');
    const named = parent ? ((await source.childKeysOf?.(parent)) ?? []) : [];
    expect(named).toHaveLength(2);
    // New revisions: the store does not hold them, so their names go with the keys (as the engine does).
    const children = named.map(keyOfNamed);
    const refs = new Map(named.flatMap((k) => (typeof k === 'string' ? [] : [[k.key, k.ref] as const])));
    const read = (await source.getMany?.(children, refs)) ?? new Map<string, ClusterObject | undefined>();
    expect(children.map((k) => read.get(k)?.kind)).toEqual(['workload', 'workload']);

    expect(h.emu.calls.count(GET_SERVICE) - services).toBe(1);
    expect(h.emu.calls.count(GET_REVISION) - revisions).toBe(2);
  });

  it('a later round reads the service again (no read outlives the expansion after it)', async () => {
    const name = `projects/${P}/locations/${R}/services/web`;
    const key = workloadKey(P, R, name);
    await source.get(key, name);
    await source.get(key, name);
    const services = h.emu.calls.count(GET_SERVICE);
    await source.get(key, name);
    expect(h.emu.calls.count(GET_SERVICE) - services).toBe(1);
  });

  it('a read of a service right after the round that read it sees it deleted (no stale reuse)', async () => {
    h.emu.fleet.deployService(P, R, 'gone', 'us-docker.pkg.dev/proj-alpha/app/gone:1.0', { silent: true });
    await listAll(source);
    const name = `projects/${P}/locations/${R}/services/gone`;
    const key = workloadKey(P, R, name);
    expect((await source.get(key, name))?.kind).toBe('workload');
    h.emu.fleet.deleteService(P, R, 'gone', { silent: true });
    // The very next round: the delete hint's read must not be answered by the round before.
    expect(await source.get(key, name)).toBeUndefined();
  });

  it('a revision read with its service in one round is checked against that fresh read, not the expansion before', async () => {
    const name = `projects/${P}/locations/${R}/services/web`;
    const key = workloadKey(P, R, name);
    const parent = await source.get(key, name);
    expect(parent ? await source.childKeysOf?.(parent) : []).toHaveLength(2);
    const { revisionShort } = h.emu.fleet.rollService(
      P,
      R,
      'web',
      'us-docker.pkg.dev/proj-alpha/app/web:3.0',
      {
        silent: true,
      },
    );
    const revName = `projects/${P}/locations/${R}/services/web/revisions/${revisionShort}`;
    const revKey = workloadKey(P, R, revName);
    // The poll announces the new revision's key with its name (as a hint would); it reads no service round.
    const polled = (await source.cheapPoll?.poll())?.get(revKey);
    expect(polled !== undefined && typeof polled !== 'string' && polled.ref).toBe(revName);
    // As a 'changed' hint for the new revision and the service's family hint land in one batch.
    const refs = new Map([
      [revKey, revName],
      [key, name],
    ]);
    const read =
      (await source.getMany?.([revKey, key], refs)) ?? new Map<string, ClusterObject | undefined>();
    expect(read.get(revKey)?.kind).toBe('workload');
    expect(read.get(key)?.kind).toBe('workload');
  });
});
