import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOfNamed } from '../../src/watch/source.js';
import { digestOf } from '../../adapters/cloudrun/emulator/index.js';
import { cloudRunClusterId, workloadKey } from '../../adapters/cloudrun/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { WatchSource } from '../../src/watch/source.js';
import type { EventLog, Harness } from './harness.js';
import {
  LEAST_PRIVILEGE_RPCS,
  eventWorkload,
  sourceFor,
  sourcesOf,
  startHarness,
  watchSource,
} from './harness.js';

const P = 'proj-alpha';
const R = 'us-central1';
const SVC = 'run.googleapis.com/Service';
const REV = 'run.googleapis.com/Revision';

let h: Harness;
let source: WatchSource<ClusterObject>;
let log: EventLog;

beforeAll(async () => {
  h = await startHarness({ projects: [P], regions: [R, 'europe-west1'] });
  source = await sourceFor(h, P, 'services');
  // One watch per kind source of the project, as the daemon runs them, over one shared tail.
  log = await watchSource(await sourcesOf(h, P));
});
afterAll(async () => {
  await log.stop();
  await h.close();
});

const svcName = (name: string) => `projects/${P}/locations/${R}/services/${name}`;
const svcKey = (name: string) => workloadKey(P, R, svcName(name));

describe('audit tail -> hints -> watch events, through TailLogEntries on the emulator', () => {
  it('deploy: an event with the service, its image and the resolved digest; get agrees', async () => {
    const image = 'us-docker.pkg.dev/proj-alpha/app/web:1.0';
    const { revisionShort } = h.emu.fleet.deployService(P, R, 'web', image);
    const svc = await log.waitFor(
      (x) => eventWorkload(x, SVC, 'web')?.containers[0]?.image.digest === digestOf(image),
      'web with digest',
    );
    expect(svc.type === 'ADDED' && svc.key).toBe(svcKey('web'));
    const rev = await log.waitFor(
      (x) => eventWorkload(x, REV, revisionShort)?.containers[0]?.image.digest === digestOf(image),
      'revision',
    );
    expect(eventWorkload(rev, REV, revisionShort)?.owners[0]?.name).toBe('web');
    const got = await source.get(svcKey('web'), svcName('web'));
    expect(got?.kind === 'workload' && got.workload.containers[0]?.image).toMatchObject({
      reference: image,
      digest: digestOf(image),
    });
    expect(
      h.activity.some((a) => a.clusterId === (got?.kind === 'workload' ? got.workload.clusterId : '')),
    ).toBe(true);
  });

  it('roll: the new image and digest arrive; the replaced revision is reported deleted', async () => {
    const first = [...h.emu.fleet.revisions.keys()].find((k) => k.includes('/services/web/')) ?? '';
    const image = 'us-docker.pkg.dev/proj-alpha/app/web:2.0';
    const { revisionShort } = h.emu.fleet.rollService(P, R, 'web', image);
    await log.waitFor(
      (x) => eventWorkload(x, SVC, 'web')?.containers[0]?.image.digest === digestOf(image),
      'rolled web',
    );
    await log.waitFor(
      (x) => eventWorkload(x, REV, revisionShort)?.containers[0]?.image.digest === digestOf(image),
      'new revision',
    );
    await log.waitFor(
      (x) => x.type === 'DELETED' && x.key === workloadKey(P, R, first),
      'old revision deleted',
    );
    expect(await source.get(workloadKey(P, R, first), first)).toBeUndefined();
  });

  it('split traffic: both revisions serve again and the old one is read back as a child of the service', async () => {
    const revs = [...h.emu.fleet.revisions.entries()].filter(([k]) => k.includes('/services/web/'));
    const [oldName, oldRec] = revs[0] ?? ['', undefined];
    h.emu.fleet.splitTraffic(
      P,
      R,
      'web',
      revs.map(([, r]) => ({ revision: r.short, percent: 50 })),
    );
    // The engine expands the service's family hint with these reads (its worker, not the hint stream).
    const svc = await source.get(svcKey('web'), svcName('web'));
    expect(svc && (await source.childKeysOf?.(svc))?.map(keyOfNamed)).toContain(workloadKey(P, R, oldName));
    const back = await source.get(workloadKey(P, R, oldName), oldName);
    expect(back?.kind === 'workload' && back.workload.name).toBe(oldRec?.short);
    expect(back?.kind === 'workload' && back.workload.containers[0]?.image.digest).toBe(oldRec?.digest);
  });

  it('delete: the service and its revisions are reported deleted and get finds nothing', async () => {
    const revKeys = [...h.emu.fleet.revisions.keys()]
      .filter((k) => k.includes('/services/web/'))
      .map((k) => workloadKey(P, R, k));
    h.emu.fleet.deleteService(P, R, 'web');
    await log.waitFor((x) => x.type === 'DELETED' && x.key === svcKey('web'), 'service deleted');
    for (const k of revKeys)
      await log.waitFor((x) => x.type === 'DELETED' && x.key === k, 'revision deleted');
    expect(await source.get(svcKey('web'), svcName('web'))).toBeUndefined();
  });

  it('v1 method names (ReplaceService via the Knative API) map the same way', async () => {
    const image = 'gcr.io/proj-alpha/legacy:7';
    h.emu.fleet.deployService(P, 'europe-west1', 'legacy', image, { api: 'v1' });
    const event = await log.waitFor(
      (x) => eventWorkload(x, SVC, 'legacy')?.containers[0]?.image.digest === digestOf(image),
      'legacy',
    );
    expect(eventWorkload(event, SVC, 'legacy')?.clusterId).toBe(cloudRunClusterId(P, 'europe-west1'));
  });

  it('job create and run: the job, then the running execution as a Pod owned by it', async () => {
    const image = 'europe-docker.pkg.dev/proj-alpha/jobs/etl:3';
    h.emu.fleet.createJob(P, R, 'etl', image);
    const job = await log.waitFor(
      (x) => eventWorkload(x, 'run.googleapis.com/Job', 'etl') !== undefined,
      'job',
    );
    const jobW = eventWorkload(job, 'run.googleapis.com/Job', 'etl');
    expect(jobW?.containers[0]?.image).toMatchObject({
      reference: image,
      unresolved: { reason: 'not-reported-by-provider' },
    });
    const { executionShort } = h.emu.fleet.runJob(P, R, 'etl');
    const pod = await log.waitFor(
      (x) => eventWorkload(x, 'run.googleapis.com/Execution', executionShort) !== undefined,
      'execution',
    );
    const podW = eventWorkload(pod, 'run.googleapis.com/Execution', executionShort);
    expect(podW).toMatchObject({
      kind: 'Pod',
      status: 'RUNNING',
      owners: [{ kind: 'Job', name: 'etl', uid: jobW?.uid }],
    });
  });

  it('worker pool create: an event whose get is the pool', async () => {
    h.emu.fleet.createWorkerPool(P, R, 'consumers', 'gcr.io/proj-alpha/consumer:1');
    const key = workloadKey(P, R, `projects/${P}/locations/${R}/workerPools/consumers`);
    await log.waitFor((x) => x.type === 'ADDED' && x.key === key, 'pool event');
    const got = await (await sourceFor(h, P, 'workerpools')).get(key);
    expect(got?.kind === 'workload' && got.workload).toMatchObject({
      kind: 'Deployment',
      nativeKind: 'run.googleapis.com/WorkerPool',
      name: 'consumers',
    });
  });

  it('bookmarks never go back in any kind source, and no error or gap reached the watches', () => {
    const ids = new Set(log.events.map((x) => x.sourceId));
    expect([...ids].sort()).toEqual(
      ['clusters', 'jobs', 'services', 'workerpools'].map((k) => `cloudrun/${P}/${k}`),
    );
    // Bookmarks (the feed's position once everything before it is reconciled) move forward only.
    // The cursor a change event carries is its own hint's: in a batch of coalesced hints an event
    // may carry an older one than the event before it (safe: a restart resumes earlier).
    for (const id of ids) {
      const cursors = log.events.flatMap((x) =>
        x.sourceId === id && x.type === 'BOOKMARK' ? [x.cursor] : [],
      );
      expect(cursors.length, id).toBeGreaterThan(0);
      expect([...cursors].sort(), id).toEqual(cursors);
    }
    expect(log.errors).toEqual([]);
    // One initial list per kind source, each started and done: no relist from a gap.
    const relists = log.events.flatMap((x) => (x.type === 'RELIST' ? [x.cause] : []));
    expect(relists).toEqual(Array.from({ length: 8 }, () => 'initial'));
  });

  it('the kind sources of a project share one tail session', () => {
    expect(h.emu.openTails()).toBe(1);
    expect(h.emu.calls.count('google.logging.v2.LoggingServiceV2/TailLogEntries')).toBe(1);
  });

  it('tailing, catch-up and hint expansion call only least-privilege read RPCs', () => {
    expect(h.emu.calls.count('google.logging.v2.LoggingServiceV2/TailLogEntries')).toBeGreaterThan(0);
    for (const rpc of h.emu.calls.names()) expect(LEAST_PRIVILEGE_RPCS.has(rpc), rpc).toBe(true);
  });
});
