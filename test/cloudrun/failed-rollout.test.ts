/**
 * Running means serving, through the real SDK clients against the emulator: a service serving
 * revision A rolls out revision B, whose container never starts. While the rollout is in progress
 * and after it failed, the service's images are A's (what serves traffic); once B has failed it is
 * not a serving revision (not listed, read as gone, not a child of the service), although its digest
 * is known. A later good rollout C replaces A as the service's image.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { keyOfNamed } from '../../src/watch/source.js';
import { VirtualTimeScheduler } from 'rxjs';
import { digestOf } from '../../adapters/cloudrun/emulator/index.js';
import { workloadKey } from '../../adapters/cloudrun/index.js';
import type { ClusterObject, Workload } from '../../src/model/index.js';
import type { Harness } from './harness.js';
import { byName, collectHints, listAll, sourceFor, startHarness } from './harness.js';

const P = 'proj-rollout';
const R = 'us-central1';
const SERVICE = 'run.googleapis.com/Service';
const REVISION = 'run.googleapis.com/Revision';
const full = `projects/${P}/locations/${R}/services/web`;
const svcKey = workloadKey(P, R, full);
const IMAGE_A = `us-docker.pkg.dev/${P}/app/web:good`;
const IMAGE_B = `us-docker.pkg.dev/${P}/app/web:crashes`;
const IMAGE_C = `us-docker.pkg.dev/${P}/app/web:fixed`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function images(w: Workload | undefined): Array<{ reference: string; digest: string | undefined }> {
  return (w?.containers ?? []).map((c) => ({ reference: c.image.reference, digest: c.image.digest }));
}

function revisionNames(items: ClusterObject[]): string[] {
  return items
    .flatMap((o) => (o.kind === 'workload' && o.workload.nativeKind === REVISION ? [o.workload.name] : []))
    .sort();
}

function asWorkload(o: ClusterObject | undefined): Workload | undefined {
  return o?.kind === 'workload' ? o.workload : undefined;
}

describe('a failed Cloud Run rollout', () => {
  it('keeps the serving revision A as the service image; the failed revision B is not running', async () => {
    const fleetTime = new VirtualTimeScheduler();
    h = await startHarness({
      projects: [P],
      regions: [R],
      emulator: { scheduler: fleetTime, epochOffsetMs: Date.now(), readyDelayMs: 30_000 },
    });
    const fleet = h.emu.fleet;
    const a = fleet.deployService(P, R, 'web', IMAGE_A, { silent: true });
    const b = fleet.failRollout(P, R, 'web', IMAGE_B);
    const source = await sourceFor(h, P);
    // The fleet's virtual clock stands still at its start: read the feed from before it.
    const log = collectHints(source, 'v1|2020-01-01T00:00:00.000000000Z|');
    await log.ready();

    // Rollout in progress: A serves, B is starting (listed, as a rollout's new revision is).
    const during = await listAll(source);
    const svcDuring = byName(during.items, SERVICE, 'web');
    expect(svcDuring?.status).toBe('Reconciling');
    expect(images(svcDuring)).toEqual([{ reference: IMAGE_A, digest: digestOf(IMAGE_A) }]);
    expect(revisionNames(during.items)).toEqual([a.revisionShort, b.revisionShort].sort());

    // B fails: the system event makes the watcher read the service's family again.
    const before = log.hints.length;
    fleetTime.flush();
    await log.waitFor(
      (x) => log.hints.indexOf(x) >= before && x.type === 'family' && x.key === svcKey,
      'failure hint',
    );
    const svc = asWorkload(await source.get(svcKey, full));
    expect(svc?.status).toBe('Failed');
    expect(images(svc)).toEqual([{ reference: IMAGE_A, digest: digestOf(IMAGE_A) }]);
    const parent = await source.get(svcKey, full);
    const children = parent ? ((await source.childKeysOf?.(parent)) ?? []) : [];
    expect(children.map(keyOfNamed)).toEqual([workloadKey(P, R, a.revision)]);
    expect(await source.get(workloadKey(P, R, b.revision), b.revision)).toBeUndefined();
    expect(asWorkload(await source.get(workloadKey(P, R, a.revision), a.revision))?.status).toBe('Ready');

    // A relist agrees: B's digest is known (its image was pulled) but nothing running shows it.
    const after = await listAll(source);
    expect(revisionNames(after.items)).toEqual([a.revisionShort]);
    expect(images(byName(after.items, SERVICE, 'web'))).toEqual([
      { reference: IMAGE_A, digest: digestOf(IMAGE_A) },
    ]);
    const shown = after.items.flatMap((o) =>
      o.kind === 'workload' ? o.workload.containers.map((c) => c.image.digest) : [],
    );
    expect(fleet.v1Revision(b.revision)?.['status']).toMatchObject({ imageDigest: expect.any(String) });
    expect(shown).not.toContain(digestOf(IMAGE_B));

    // A good rollout afterwards serves C: the service shows C, A and B are gone.
    const c = fleet.rollService(P, R, 'web', IMAGE_C, { silent: true });
    const fixed = await listAll(source);
    expect(byName(fixed.items, SERVICE, 'web')?.status).toBe('Ready');
    expect(images(byName(fixed.items, SERVICE, 'web'))).toEqual([
      { reference: IMAGE_C, digest: digestOf(IMAGE_C) },
    ]);
    expect(revisionNames(fixed.items)).toEqual([c.revisionShort]);
    log.sub.unsubscribe();
  });

  it('a failed first deploy runs no image: the service has no containers and no revision', async () => {
    h = await startHarness({ projects: [P], regions: [R] });
    const b = h.emu.fleet.deployService(P, R, 'web', IMAGE_B, { silent: true, failWith: 'no port' });
    const source = await sourceFor(h, P);
    const listed = await listAll(source);
    const svc = byName(listed.items, SERVICE, 'web');
    expect(svc?.status).toBe('Failed');
    expect(svc?.containers).toEqual([]);
    expect(revisionNames(listed.items)).toEqual([]);
    expect(await source.get(workloadKey(P, R, b.revision), b.revision)).toBeUndefined();
  });

  it('a traffic split serves the images of both revisions, the larger share first', async () => {
    h = await startHarness({ projects: [P], regions: [R] });
    const fleet = h.emu.fleet;
    const a = fleet.deployService(P, R, 'web', IMAGE_A, { silent: true });
    const c = fleet.rollService(P, R, 'web', IMAGE_C, { silent: true });
    fleet.splitTraffic(
      P,
      R,
      'web',
      [
        { revision: a.revisionShort, percent: 90 },
        { revision: c.revisionShort, percent: 10 },
      ],
      { silent: true },
    );
    const source = await sourceFor(h, P);
    const listed = await listAll(source);
    expect(images(byName(listed.items, SERVICE, 'web'))).toEqual([
      { reference: IMAGE_A, digest: digestOf(IMAGE_A) },
      { reference: IMAGE_C, digest: digestOf(IMAGE_C) },
    ]);
    // Re-read through GetService: the serving revision's digests are known, no extra revision read.
    const getRevision = h.emu.calls.count('google.cloud.run.v2.Revisions/GetRevision');
    expect(images(asWorkload(await source.get(svcKey, full)))).toHaveLength(2);
    expect(h.emu.calls.count('google.cloud.run.v2.Revisions/GetRevision')).toBe(getRevision);
  });
});
