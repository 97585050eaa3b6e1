import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../adapters/cloudrun/emulator/index.js';
import { cloudRunClusterId } from '../../adapters/cloudrun/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import { objectKey } from '../../src/model/index.js';
import { tokenOf } from '../../src/watch/source.js';
import type { Harness } from './harness.js';
import {
  LEAST_PRIVILEGE_RPCS,
  byName,
  listAll,
  metricValue,
  sourceFor,
  sourcesOf,
  listProject,
  storeOf,
  startHarness,
  workloads,
} from './harness.js';

const PAGE = 4;
const FLEET: Record<string, string[]> = {
  'proj-alpha': ['asia-east1', 'europe-west1', 'us-central1'],
  'proj-beta': ['us-central1', 'us-east1'],
};
let h: Harness;

function populate(): void {
  const f = h.emu.fleet;
  let n = 0;
  for (const [project, regions] of Object.entries(FLEET)) {
    for (const region of regions) {
      for (let i = 0; i < 6; i += 1) {
        n += 1;
        const name = `svc-${i}`;
        f.deployService(project, region, name, `us-docker.pkg.dev/${project}/app/${name}:v1`, {
          silent: true,
          labels: { team: `t${n % 3}` },
        });
        if (i % 2 === 0)
          f.rollService(project, region, name, `us-docker.pkg.dev/${project}/app/${name}:v2`, {
            silent: true,
          });
      }
      const split = f.rollService(project, region, 'svc-1', `us-docker.pkg.dev/${project}/app/svc-1:v3`, {
        silent: true,
      });
      const revs = [...f.revisions.keys()].filter((k) =>
        k.startsWith(`projects/${project}/locations/${region}/services/svc-1/`),
      );
      const first = revs.find((k) => k !== split.revision) ?? '';
      f.splitTraffic(
        project,
        region,
        'svc-1',
        [
          { revision: first.split('/').pop() ?? '', percent: 40 },
          { revision: split.revisionShort, percent: 60 },
        ],
        { silent: true },
      );
      f.createJob(
        project,
        region,
        'nightly',
        `europe-docker.pkg.dev/${project}/jobs/nightly@${digestOf('pinned')}`,
        { silent: true },
      );
      const done = f.runJob(project, region, 'nightly', { silent: true });
      f.completeExecution(done.execution, 'SUCCEEDED');
      f.runJob(project, region, 'nightly', { silent: true });
      f.createWorkerPool(project, region, 'pool', `gcr.io/${project}/worker:1`, { silent: true });
    }
  }
}

beforeAll(async () => {
  h = await startHarness({
    emulator: { maxPageSize: PAGE, projects: FLEET },
    projects: Object.keys(FLEET),
    regions: 'all',
  });
  populate();
});
afterAll(async () => h.close());

function expectedPages(project: string): number {
  const f = h.emu.fleet;
  let pages = 0;
  for (const region of FLEET[project] ?? []) {
    const loc = `projects/${project}/locations/${region}/`;
    const count = (keys: Iterable<string>) => [...keys].filter((k) => k.startsWith(loc)).length;
    const p = (n: number) => Math.max(1, Math.ceil(n / PAGE));
    pages +=
      1 +
      p(count(f.services.keys())) +
      p(count(f.revisions.keys())) +
      p(count(f.jobs.keys())) +
      p(count(f.executions.keys())) +
      p(count(f.workerPools.keys()));
  }
  return pages;
}

describe('initial list through the real SDK clients', () => {
  const listed = new Map<string, { items: ClusterObject[]; pages: number; cursor?: string }>();

  beforeAll(async () => {
    for (const project of Object.keys(FLEET)) {
      const r = await listProject(h, project);
      const services = await listAll(await sourceFor(h, project, 'services'));
      listed.set(project, { ...r, ...(services.cursor === undefined ? {} : { cursor: services.cursor }) });
    }
  });

  it('lists every page of every project and region (regions from ListLocations)', () => {
    for (const [project, regions] of Object.entries(FLEET)) {
      const r = listed.get(project);
      expect(r?.pages).toBe(expectedPages(project));
      const clusters = (r?.items ?? []).flatMap((o) => (o.kind === 'cluster' ? [o.cluster] : []));
      expect(clusters.map((c) => c.remoteId).sort()).toEqual(
        regions.map((x) => `projects/${project}/locations/${x}`),
      );
      for (const c of clusters) {
        expect(c.id).toBe(cloudRunClusterId(project, c.region));
        expect(c).toMatchObject({
          provider: 'CLOUD_RUN',
          account: project,
          group: 'group-1',
          issuer: 'https://issuer.example',
          agentVersion: '0.1.0-test',
        });
      }
      const namespaces = (r?.items ?? []).flatMap((o) => (o.kind === 'namespace' ? [o.namespace] : []));
      expect(namespaces).toHaveLength(regions.length);
      expect(new Set(namespaces.map((n) => n.name))).toEqual(new Set([project]));
      expect(r?.cursor).toMatch(/^v1\|/);
    }
    expect(h.emu.calls.count('google.cloud.location.Locations/ListLocations')).toBe(
      Object.keys(FLEET).length,
    );
  });

  it('maps every service, serving revision, job, current execution and worker pool with digests', () => {
    const f = h.emu.fleet;
    for (const [project, regions] of Object.entries(FLEET)) {
      const items = listed.get(project)?.items ?? [];
      const ws = workloads(items);
      const keys = items.map(objectKey);
      expect(new Set(keys).size).toBe(keys.length);
      for (const region of regions) {
        const cid = cloudRunClusterId(project, region);
        const inRegion = ws.filter((w) => w.clusterId === cid);
        const services = [...f.services.values()].filter((s) => s.project === project && s.region === region);
        expect(inRegion.filter((w) => w.nativeKind === 'run.googleapis.com/Service')).toHaveLength(
          services.length,
        );
        for (const s of services) {
          const w = inRegion.find((x) => x.nativeKind === 'run.googleapis.com/Service' && x.name === s.short);
          const image = (
            (s.wire['template'] as { containers: Array<{ image: string }> }).containers[0] as {
              image: string;
            }
          ).image;
          expect(w?.kind).toBe('Deployment');
          // Running means serving: the images of the revisions with traffic, the largest share first.
          const shares = (s.wire['traffic_statuses'] as Array<{ revision: string; percent: number }>)
            .filter((t) => t.percent > 0)
            .sort((a, b) => b.percent - a.percent);
          const servingImages = shares.map((t) => {
            const rec = f.revisions.get(`${s.wire['name'] as string}/revisions/${t.revision}`);
            return { reference: rec?.image, digest: rec?.digest };
          });
          expect(servingImages[0]?.reference).toBe(image);
          expect(
            w?.containers.map((c) => ({ reference: c.image.reference, digest: c.image.digest })),
          ).toEqual(servingImages);
          expect(w?.labels['team']).toMatch(/^t[0-2]$/);
          // Serving revisions: traffic > 0 or latest created; a rolled service's old revision is gone.
          const traffic = (s.wire['traffic_statuses'] as Array<{ revision: string; percent: number }>)
            .filter((t) => t.percent > 0)
            .map((t) => t.revision);
          const latest = String(s.wire['latest_created_revision']).split('/').pop() ?? '';
          const expected = new Set([...traffic, latest]);
          const revs = inRegion.filter((x) => x.kind === 'ReplicaSet' && x.owners[0]?.name === s.short);
          expect(new Set(revs.map((x) => x.name))).toEqual(expected);
          for (const rv of revs) {
            const rec = f.revisions.get(`${s.wire['name'] as string}/revisions/${rv.name}`);
            expect(rv.owners[0]).toMatchObject({ kind: 'Deployment', uid: w?.uid });
            expect(rv.containers[0]?.image.digest).toBe(rec?.digest);
          }
        }
        const job = inRegion.find((w) => w.nativeKind === 'run.googleapis.com/Job');
        expect(job?.containers[0]?.image.digest).toBe(digestOf('pinned'));
        const pods = inRegion.filter((w) => w.kind === 'Pod');
        expect(pods.map((p) => p.status).sort()).toEqual(['RUNNING', 'SUCCEEDED']);
        expect(pods.every((p) => p.owners[0]?.uid === job?.uid)).toBe(true);
        const pool = inRegion.find((w) => w.nativeKind === 'run.googleapis.com/WorkerPool');
        expect(pool?.kind).toBe('Deployment');
        expect(pool?.containers[0]?.image).toMatchObject({
          unresolved: { reason: 'not-reported-by-provider' },
        });
        expect(pool?.containers[0]?.image.digest).toBeUndefined();
      }
    }
  });

  it('orders by updateTime and gets each listed object back unchanged, from its kind source', async () => {
    const source = await sourceFor(h, 'proj-alpha');
    const items = listed.get('proj-alpha')?.items ?? [];
    const svc = items.find(
      (o) => o.kind === 'workload' && o.workload.name === 'svc-0' && o.workload.kind === 'Deployment',
    );
    expect(svc && source.orderOf(svc)).toBeGreaterThan(Date.UTC(2020, 0, 1));
    let checked = 0;
    for (const kind of await sourcesOf(h, 'proj-alpha')) {
      for (const [key, e] of [...storeOf(kind).entries].slice(0, 15)) {
        const got = await kind.get(key);
        expect(got && kind.hashOf(got), `${kind.id} ${key}`).toBe(e.hash);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('cheap poll fingerprints the same keys, emits activity per cluster, and counts calls', async () => {
    const source = await sourceFor(h, 'proj-beta');
    const before = h.activity.length;
    const fp = new Map<string, string>();
    for (const kind of await sourcesOf(h, 'proj-beta'))
      for (const [k, v] of (await kind.cheapPoll?.poll()) ?? []) fp.set(k, tokenOf(v));
    const keys = (listed.get('proj-beta')?.items ?? []).map(objectKey);
    expect(new Set(fp.keys())).toEqual(new Set(keys));
    const seen = h.activity.slice(before).map((a) => a.clusterId);
    expect(new Set(seen)).toEqual(
      new Set((FLEET['proj-beta'] ?? []).map((r) => cloudRunClusterId('proj-beta', r))),
    );
    expect(h.activity.at(-1)).toMatchObject({ controllerName: 'sightline-cloudrun', profile: 'observer' });
    expect(
      await metricValue(h.metrics, 'sightline_api_calls_total', {
        provider: 'CLOUD_RUN',
        operation: 'ListServices',
        outcome: 'ok',
      }),
    ).toBeGreaterThan(0);
    // No tail is open: the poll is the detector, at the watch's poll interval.
    expect(source.cheapPoll?.intervalMs).toBe(5_000);
  });

  it('calls nothing outside the least-privilege read set', () => {
    for (const rpc of h.emu.calls.names()) expect(LEAST_PRIVILEGE_RPCS.has(rpc), rpc).toBe(true);
    const byName0 = byName(listed.get('proj-alpha')?.items ?? [], 'run.googleapis.com/Service', 'svc-0');
    expect(byName0).toBeDefined();
  });
});

describe('a service deleted and re-created under the same name', () => {
  it('orders after the deleted one, so the watch engine does not drop it as stale', async () => {
    const source = await sourceFor(h, 'proj-alpha');
    const region = FLEET['proj-alpha']?.[0] ?? 'us-central1';
    const f = h.emu.fleet;
    f.deployService('proj-alpha', region, 'phoenix', 'gcr.io/proj-alpha/phoenix:1', { silent: true });
    f.rollService('proj-alpha', region, 'phoenix', 'gcr.io/proj-alpha/phoenix:2', { silent: true });
    const find = (items: ClusterObject[]): ClusterObject | undefined =>
      items.find(
        (o) =>
          o.kind === 'workload' &&
          o.workload.nativeKind === 'run.googleapis.com/Service' &&
          o.workload.name === 'phoenix',
      );
    const first = find((await listAll(source)).items);
    expect(first).toBeDefined();
    const firstOrder = first ? source.orderOf(first) : undefined;
    f.deleteService('proj-alpha', region, 'phoenix', { silent: true });
    await new Promise((r) => setTimeout(r, 5)); // a real re-creation is at least a request later
    f.deployService('proj-alpha', region, 'phoenix', 'gcr.io/proj-alpha/phoenix:3', { silent: true });
    const again = find((await listAll(source)).items);
    expect(again && first && objectKey(again)).toBe(first && objectKey(first));
    expect(again && source.orderOf(again)).toBeGreaterThan(firstOrder ?? Number.MAX_SAFE_INTEGER);
  });
});
