import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  clustersJson,
  formatAge,
  recordsJson,
  renderClustersTable,
  renderRecordsTable,
} from '../../src/console/views.js';
import { displayWidth, fitList, truncateStartToWidth } from '../../src/console/table.js';
import { clustersListCommand, consoleServeCommand } from '../../src/console/commands.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ClusterView, ImageRecord, WorkloadContext } from '../../src/console/wire-types.js';
import { digestOf, tempDir, writeToken } from './helpers.js';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

function cluster(name: string, lastSeenAgoMs: number, activityAgoMs: number[]): ClusterView {
  return {
    registration: {
      id: `id-${name}`,
      provider: 'CLOUD_RUN',
      remote_id: `projects/p/locations/${name}`,
      name,
      region: 'europe-west1',
      account: 'my-project',
      issuer: 'https://issuer.example',
      platform_version: 'v2',
      agent_version: '1.2.3',
      group: 'g',
      profiles: ['observer'],
      labels: {},
      metadata: {},
      observed_ms: NOW - lastSeenAgoMs,
    },
    registered_ms: NOW - 10 * 86_400_000,
    last_seen_ms: NOW - lastSeenAgoMs,
    activity: activityAgoMs.map((ago, i) => ({
      cluster_id: `id-${name}`,
      controller_name: `ctl-${i}`,
      profile: 'observer',
      namespace: '',
      last_seen_ms: NOW - ago,
    })),
    workloads: 3,
    nodes: 2,
  };
}

describe('views', () => {
  it('formats ages like chainctl: 10s, 3m, 2h, 4d', () => {
    expect(formatAge(NOW - 10_000, NOW)).toBe('10s');
    expect(formatAge(NOW - 59_999, NOW)).toBe('59s');
    expect(formatAge(NOW - 3 * 60_000 - 5_000, NOW)).toBe('3m');
    expect(formatAge(NOW - 2 * 3_600_000 - 1, NOW)).toBe('2h');
    expect(formatAge(NOW - 4 * 86_400_000 - 7_200_000, NOW)).toBe('4d');
    expect(formatAge(NOW + 5_000, NOW)).toBe('0s');
  });

  it('renders the clusters table with aligned columns and activity per controller', () => {
    const out = renderClustersTable(
      [cluster('europe-west1', 10_000, [10_000, 180_000]), cluster('us-central1', 7_200_000, [])],
      NOW,
    );
    expect(out).toBe(
      [
        'NAME          PROVIDER   REGION        AGENT VERSION  LAST SEEN  ACTIVITY',
        'europe-west1  CLOUD_RUN  europe-west1  1.2.3          10s        observer:10s,observer:3m',
        'us-central1   CLOUD_RUN  europe-west1  1.2.3          2h         -',
        '',
      ].join('\n'),
    );
    const wide = renderClustersTable([cluster('europe-west1', 10_000, [])], NOW, { wide: true });
    expect(wide.split('\n')[0]).toMatch(/LAST SEEN\s+WORKLOADS\s+NODES\s+ACTIVITY$/);
    expect(wide.split('\n')[1]).toMatch(/10s\s+3\s+2\s+-$/);
  });

  it('shows which replica leads next to the agent version when the agent runs two replicas', () => {
    const led = {
      ...cluster('europe-west1', 10_000, [10_000]),
      leader: { term: 3, holder: 'sightline-acme-1_9f3c01ab' },
    };
    const out = renderClustersTable([led, cluster('us-central1', 7_200_000, [])], NOW);
    expect(out.split('\n')[1]).toMatch(
      /^europe-west1 +CLOUD_RUN +europe-west1 +1\.2\.3 \(sightline-acme-1_9f3c01ab\) +10s /,
    );
    expect(out.split('\n')[2]).toMatch(/^us-central1 +CLOUD_RUN +europe-west1 +1\.2\.3 +2h /);
  });

  it('fits the clusters table to the width: activity becomes "a,+N", no line wider', () => {
    const c = cluster(
      'a-rather-long-cluster-name-in-some-region',
      10_000,
      [1_000, 2_000, 3_000, 4_000, 5_000],
    );
    for (const width of [60, 80, 100]) {
      const lines = renderClustersTable([c], NOW, { maxWidth: width }).trimEnd().split('\n');
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
    }
    const at80 = renderClustersTable([c], NOW, { maxWidth: 80 }).trimEnd().split('\n');
    expect(at80[1]).toMatch(/observer:1s(,observer:\d+s)*,\+\d$/);
  });

  it('renders one row per image: IMAGE, short DIGEST, WORKLOADS, CLUSTERS, LAST SEEN; neutralises control characters', () => {
    const lines = renderRecordsTable(records(), NOW).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE\s+DIGEST\s+WORKLOADS\s+CLUSTERS\s+LAST SEEN$/);
    const nginx = lines.find((l) => l.startsWith('nginx:1.27'));
    expect(nginx).toMatch(
      new RegExp(
        `^nginx:1\\.27\\s+${digestOf(7).slice(0, 19)}\\s+europe-west1/web, us-central1/web\\s+p/europe-west1, p/us-central1\\s+4d$`,
      ),
    );
    expect(lines.join('\n')).not.toContain(digestOf(7));
    expect(lines.find((l) => l.startsWith('evil'))).toMatch(
      /^evil\?\[2J:1\s+\(invalid-reference\)\s+us-central1\/x\?\[1m\s+p\/us-central1\s+30s$/,
    );
    expect(lines.join('\n')).not.toContain('\u001b');
  });

  it('hides superseded images unless asked for all, and marks them then', () => {
    const plain = renderRecordsTable(records(), NOW);
    expect(plain).not.toContain('nginx:1.26');
    const all = renderRecordsTable(records(), NOW, { all: true }).trimEnd().split('\n');
    expect(all[0]).toMatch(/LAST SEEN\s+STATE$/);
    expect(all.find((l) => l.startsWith('nginx:1.26'))).toMatch(
      /\(pending-start\)\s+us-central1\/web\s+p\/us-central1\s+\d+[smhd]\s+superseded$/,
    );
    expect(all.find((l) => l.startsWith('nginx:1.27'))).toMatch(/current$/);
    expect(all.find((l) => l.startsWith('old:1'))).toMatch(/deleted$/);
  });

  it('shows the full digest with -o wide and in JSON, with current at record level', () => {
    const wide = renderRecordsTable(records(), NOW, { wide: true });
    expect(wide).toContain(digestOf(7));
    const json = recordsJson(records()) as { current: boolean; image: { ref: string; digest: string } }[];
    expect(json.find((r) => r.image.ref === 'nginx:1.26')?.current).toBe(false);
    expect(json.find((r) => r.image.ref === 'nginx:1.27')?.image.digest).toBe(digestOf(7));
  });

  it('fits the records table to any width: workloads as names, then "a, +N", then a count', () => {
    const many = records();
    const first = many[0];
    if (first === undefined) throw new Error('fixture');
    first.workloads = Array.from({ length: 12 }, (_, i) => ({
      ...workload(`service-number-${i}`, true, false),
      uid: `u${i}`,
    }));
    for (const width of [40, 60, 80, 100, 120, 200]) {
      for (const l of renderRecordsTable(many, NOW, { maxWidth: width, all: true }).trimEnd().split('\n'))
        expect(displayWidth(l), `${width}: ${l}`).toBeLessThanOrEqual(width);
    }
    const row = renderRecordsTable(many, NOW, { maxWidth: 120 })
      .split('\n')
      .find((l) => l.startsWith('nginx:1.27'));
    expect(row).toMatch(/europe-west1\/web, (\S+, )*\+\d+ /);
    const roomy = renderRecordsTable(many, NOW, { maxWidth: 200 })
      .split('\n')
      .find((l) => l.startsWith('nginx:1.27'));
    expect(roomy).toMatch(/europe-west1\/web, us-central1\/service-number-0, .*\+\d+ /);
    first.image.ref = '111122223333.dkr.ecr.us-east-1.amazonaws.com/team/ledger:3.2.0';
    const cut = renderRecordsTable(many, NOW, { maxWidth: 100 })
      .split('\n')
      .find((l) => l.startsWith('…'));
    expect(cut, 'a long image keeps its repository and tag').toMatch(/^…\S*\/team\/ledger:3\.2\.0\s+sha256:/);
    const narrow = renderRecordsTable(many, NOW, { maxWidth: 72 })
      .split('\n')
      .find((l) => l.includes('ledger:3.2.0'));
    expect(narrow).toMatch(/sha256:[0-9a-f]{12}\s+(12|\S+, \+\d+)\s/);
  });

  it('measures wide characters as the terminal shows them', () => {
    const wideChars = records();
    const first = wideChars[0];
    if (first === undefined) throw new Error('fixture');
    first.image.ref = '镜像/服务:最新版本'.repeat(6);
    for (const width of [50, 80, 120]) {
      for (const l of renderRecordsTable(wideChars, NOW, { maxWidth: width }).trimEnd().split('\n'))
        expect(displayWidth(l)).toBeLessThanOrEqual(width);
    }
    expect(truncateStartToWidth('us-docker.pkg.dev/p/shop/checkout:1.5.0', 20)).toBe('…shop/checkout:1.5.0');
    expect(fitList(['a', 'b', 'c'], 5)).toBe('a, +2');
    expect(fitList(['alpha', 'beta'], 3)).toBe('2');
    expect(fitList(['alpha', 'beta'], 20)).toBe('alpha, beta');
  });

  it('gives console-model field names in JSON output', () => {
    const [c] = clustersJson([cluster('a', 1_000, [2_000])]) as Record<string, unknown>[];
    expect(c).toMatchObject({
      name: 'a',
      remoteId: 'projects/p/locations/a',
      provider: 'CLOUD_RUN',
      agentVersion: '1.2.3',
      version: 'v2',
      lastSeen: new Date(NOW - 1_000).toISOString(),
      activity: {
        'ctl-0': {
          profile: 'observer',
          controllerName: 'ctl-0',
          lastSeen: new Date(NOW - 2_000).toISOString(),
        },
      },
    });
  });
});

describe('commands', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('console serve runs a reference console until told to stop; list reports a wrong token with exit 1', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const tokenFile = writeToken(t.dir, 'serve-token-123456');
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    let started!: (c: ReferenceConsole) => void;
    const listening = new Promise<ReferenceConsole>((r) => (started = r));
    const log = sinkStream();
    const serving = consoleServeCommand({
      listen: '127.0.0.1:0',
      db: join(t.dir, 'console.db'),
      tokenFile,
      until,
      onListening: started,
      stderr: log.stream,
    });
    const server = await listening;

    const out = sinkStream();
    expect(
      await clustersListCommand({
        console: server.address,
        tokenFile,
        plaintext: true,
        output: 'json',
        stdout: out.stream,
      }),
    ).toBe(0);
    expect(JSON.parse(out.text())).toEqual([]);

    const err = sinkStream();
    expect(
      await clustersListCommand({
        console: server.address,
        token: 'nope-nope-nope',
        plaintext: true,
        output: 'table',
        stdout: sinkStream().stream,
        stderr: err.stream,
      }),
    ).toBe(1);
    expect(err.text()).toMatch(/console UNAUTHENTICATED/);
    expect(err.text()).not.toContain('nope-nope-nope');

    const missing = sinkStream();
    expect(
      await clustersListCommand({
        console: server.address,
        tokenFile: join(t.dir, 'none'),
        plaintext: true,
        output: 'table',
        stderr: missing.stream,
      }),
    ).toBe(2);
    expect(missing.text()).toMatch(/cannot read console token file .*none: ENOENT/);

    stop();
    await serving;
    expect(log.text()).toMatch(/reference console listening on 127\.0\.0\.1:\d+ \(plaintext\)[\s\S]*stopped/);
  });
});

function workload(name: string, current: boolean, deleted: boolean): WorkloadContext {
  return {
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    namespace: 'p',
    name,
    uid: `uid-${name}`,
    last_seen_ms: NOW,
    deleted,
    current,
  };
}

function image(ref: string, digest: string, reason = ''): ImageRecord['image'] {
  return {
    ref,
    registry: 'docker.io',
    repository: ref.split(':')[0] ?? '',
    tag: ref.split(':')[1] ?? '',
    digest,
    unresolved_reason: reason,
    unresolved_detail: '',
  };
}

/** nginx:1.27 current in two Cloud Run regions; nginx:1.26 superseded; old:1 deleted; an evil ref. */
function records(): ImageRecord[] {
  return [
    {
      cluster_id: 'c1',
      cluster_name: 'p/us-central1',
      image: image('nginx:1.27', digestOf(7)),
      last_seen_ms: NOW - 4 * 86_400_000,
      workloads: [workload('web', true, false)],
    },
    {
      cluster_id: 'c2',
      cluster_name: 'p/europe-west1',
      image: image('nginx:1.27', digestOf(7)),
      last_seen_ms: NOW - 5 * 86_400_000,
      workloads: [workload('web', true, false)],
    },
    {
      cluster_id: 'c1',
      cluster_name: 'p/us-central1',
      image: image('nginx:1.26', '', 'pending-start'),
      last_seen_ms: NOW - 60_000,
      workloads: [workload('web', false, false)],
    },
    {
      cluster_id: 'c1',
      cluster_name: 'p/us-central1',
      image: image('old:1', digestOf(9)),
      last_seen_ms: NOW - 60_000,
      workloads: [workload('gone', false, true)],
    },
    {
      cluster_id: 'c1',
      cluster_name: 'p/us-central1',
      image: { ...image('evil\u001b[2J:1', '', 'invalid-reference'), registry: '' },
      last_seen_ms: NOW - 30_000,
      workloads: [workload('x\u001b[1m', true, false)],
    },
  ];
}

function sinkStream(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}
