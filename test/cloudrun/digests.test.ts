/**
 * Digest resolution: from the v1 REST API at list/get time, from system events, and unresolved
 * cases reported with a reason, counted, retried, and announced with a changed hint on resolution.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { digestOf } from '../../adapters/cloudrun/emulator/index.js';
import { workloadKey } from '../../adapters/cloudrun/index.js';
import {
  DIGEST_MEMORY_MAX_REVISIONS,
  DigestResolver,
  revisionFullName,
} from '../../adapters/cloudrun/digests.js';
import type { Digest } from '../../src/model/index.js';
import { MemoryCache } from '../../src/provider/cache.js';
import { makeDeps } from '../ecs/helpers.js';
import type { Harness } from './harness.js';
import { collectHints, metricValue, sourceFor, startHarness } from './harness.js';

const P = 'proj-digest';
const R = 'us-central1';
const svcName = (name: string) => `projects/${P}/locations/${R}/services/${name}`;
const svcKey = (name: string) => workloadKey(P, R, svcName(name));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('digests', () => {
  it('a pinned reference needs no lookup; a tag is resolved through the v1 API', async () => {
    h = await startHarness({ projects: [P], regions: [R] });
    const pinned = `gcr.io/${P}/pinned@${digestOf('x')}`;
    h.emu.fleet.deployService(P, R, 'pinned', pinned, { silent: true });
    h.emu.fleet.deployService(P, R, 'tagged', `gcr.io/${P}/tagged:1`, { silent: true });
    const source = await sourceFor(h, P);
    await source.cheapPoll?.poll(); // learns the keys (list calls only, no digest lookups)
    const p = await source.get(svcKey('pinned'), svcName('pinned'));
    expect(p?.kind === 'workload' && p.workload.containers[0]?.image.digest).toBe(digestOf('x'));
    expect(h.emu.calls.count('v1:GetRevision')).toBe(0);
    const t = await source.get(svcKey('tagged'), svcName('tagged'));
    expect(t?.kind === 'workload' && t.workload.containers[0]?.image.digest).toBe(
      digestOf(`gcr.io/${P}/tagged:1`),
    );
    expect(h.emu.calls.count('v1:GetRevision')).toBe(1);
    await source.get(svcKey('tagged'), svcName('tagged'));
    expect(h.emu.calls.count('v1:GetRevision')).toBe(1); // revisions are immutable: cached
  });

  it('Ready without a digest: unresolved not-reported-by-provider, counted once, never invented', async () => {
    h = await startHarness({ projects: [P], regions: [R] });
    h.emu.fleet.deployService(P, R, 'nodigest', `gcr.io/${P}/nodigest:1`, { silent: true, omitDigest: true });
    const source = await sourceFor(h, P);
    await source.cheapPoll?.poll();
    const w = await source.get(svcKey('nodigest'), svcName('nodigest'));
    const img = w?.kind === 'workload' ? w.workload.containers[0]?.image : undefined;
    expect(img?.digest).toBeUndefined();
    expect(img?.unresolved).toMatchObject({
      reason: 'not-reported-by-provider',
      detail: expect.stringMatching(/imageDigest/) as unknown,
    });
    await source.get(svcKey('nodigest'), svcName('nodigest'));
    expect(
      await metricValue(h.metrics, 'sightline_unresolved_digests_total', {
        provider: 'CLOUD_RUN',
        reason: 'not-reported-by-provider',
      }),
    ).toBe(1);
  });

  it('v1 lookup failure: unresolved lookup-failed with the HTTP status, retried, then a changed hint', async () => {
    h = await startHarness({ projects: [P], regions: [R] });
    const image = `gcr.io/${P}/flaky:1`;
    h.emu.fleet.deployService(P, R, 'flaky', image, { silent: true });
    const source = await sourceFor(h, P);
    const log = collectHints(source);
    await log.ready();
    await source.cheapPoll?.poll();
    h.emu.faults.failV1(503, 1);
    const w = await source.get(svcKey('flaky'), svcName('flaky'));
    expect(w?.kind === 'workload' && w.workload.containers[0]?.image.unresolved).toEqual({
      reason: 'lookup-failed',
      detail: 'v1 GET revision answered HTTP 503',
    });
    expect(
      await metricValue(h.metrics, 'sightline_unresolved_digests_total', { reason: 'lookup-failed' }),
    ).toBe(1);
    await log.waitFor(
      (x) => x.type === 'changed' && x.key === svcKey('flaky') && x.state === undefined,
      'resolution hint',
      5_000,
    );
    const again = await source.get(svcKey('flaky'), svcName('flaky'));
    expect(again?.kind === 'workload' && again.workload.containers[0]?.image.digest).toBe(digestOf(image));
    log.sub.unsubscribe();
  });

  it('pending-start until the Ready system event carries the v1 Revision digest (fleet on virtual time)', async () => {
    const fleetTime = new VirtualTimeScheduler();
    h = await startHarness({
      projects: [P],
      regions: [R],
      emulator: { scheduler: fleetTime, epochOffsetMs: Date.now(), readyDelayMs: 30_000 },
      config: { digestRetryIntervalMs: 3_600_000 },
    });
    const source = await sourceFor(h, P);
    // The fleet's virtual clock stands still at its start: read the feed from before it.
    const log = collectHints(source, 'v1|2020-01-01T00:00:00.000000000Z|');
    await log.ready();
    const image = `gcr.io/${P}/slow:1`;
    h.emu.fleet.deployService(P, R, 'slow', image);
    const key = svcKey('slow');
    const first = await log.waitFor((x) => x.type === 'family' && x.key === key, 'deploy hint');
    // The engine's worker reads the hinted service: its image is pending-start.
    const deployed = await source.get(key, svcName('slow'));
    expect(deployed?.kind === 'workload' && deployed.workload.containers[0]?.image.unresolved?.reason).toBe(
      'pending-start',
    );
    const v1Calls = h.emu.calls.count('v1:GetRevision');
    fleetTime.flush(); // 30 s of fleet time: the revision becomes Ready, the system event is written
    await log.waitFor(
      (x) => log.hints.indexOf(x) > log.hints.indexOf(first) && x.type === 'family' && x.key === key,
      'ready hint',
    );
    const ready = await source.get(key, svcName('slow'));
    expect(ready?.kind === 'workload' && ready.workload.containers[0]?.image.digest).toBe(digestOf(image));
    // The digest came from the audit entry's v1 Revision, not from another v1 lookup.
    expect(h.emu.calls.count('v1:GetRevision')).toBe(v1Calls);
    log.sub.unsubscribe();
  });
});

describe('digest memory', () => {
  it('keeps only the most recent revisions in memory; older ones come back from the state database, never from the API again', () => {
    const cache = new MemoryCache();
    let v1Calls = 0;
    const resolver = new DigestResolver(
      {
        getV1: () => {
          v1Calls++;
          return Promise.reject(new Error('no API call expected'));
        },
      },
      { ...makeDeps(), cache },
      60_000,
    );
    const id = (n: number) => ({ project: P, region: R, service: `svc-${n}`, revision: `svc-${n}-00001` });
    const total = DIGEST_MEMORY_MAX_REVISIONS + 500;
    for (let n = 0; n < total; n++)
      resolver.record(id(n), [{ container: 'app', digest: digestOf(`image-${n}`) as Digest }]);
    expect(cache.size).toBe(total);
    expect(resolver.memorySize).toBe(DIGEST_MEMORY_MAX_REVISIONS);
    expect(resolver.lookup(revisionFullName(id(0)))).toEqual([
      { container: 'app', digest: digestOf('image-0') },
    ]);
    expect(resolver.lookup(revisionFullName(id(total - 1)))).toEqual([
      { container: 'app', digest: digestOf(`image-${total - 1}`) },
    ]);
    expect(v1Calls).toBe(0);
  });
});
