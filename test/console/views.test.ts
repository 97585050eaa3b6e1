import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { clustersJson, formatAge, renderClustersTable, renderRecordsTable } from '../../src/console/views.js';
import { clustersListCommand, consoleServeCommand } from '../../src/console/commands.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ClusterView, ImageRecord } from '../../src/console/wire-types.js';
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
        'NAME           PROVIDER    REGION         AGENT VERSION   LAST SEEN   ACTIVITY',
        'europe-west1   CLOUD_RUN   europe-west1   1.2.3           10s         observer:10s,observer:3m',
        'us-central1    CLOUD_RUN   europe-west1   1.2.3           2h          -',
        '',
      ].join('\n'),
    );
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

  it('renders records with digest, ref, workloads and LAST SEEN; neutralises control characters', () => {
    const records: ImageRecord[] = [
      {
        cluster_id: 'c',
        cluster_name: 'c',
        image: {
          ref: 'nginx:1.27',
          registry: 'docker.io',
          repository: 'library/nginx',
          tag: '1.27',
          digest: digestOf(7),
          unresolved_reason: '',
          unresolved_detail: '',
        },
        last_seen_ms: NOW - 4 * 86_400_000,
        workloads: [
          {
            kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
            namespace: 'default',
            name: 'web',
            uid: 'u1',
            last_seen_ms: NOW,
            deleted: false,
            current: true,
          },
          {
            kind: { group: '', version: 'v1', kind: 'Pod' },
            namespace: 'default',
            name: 'old',
            uid: 'u2',
            last_seen_ms: NOW,
            deleted: true,
            current: false,
          },
        ],
      },
      {
        cluster_id: 'c',
        cluster_name: 'c',
        image: {
          ref: 'evil\u001b[2J:1',
          registry: '',
          repository: '',
          tag: '',
          digest: '',
          unresolved_reason: 'invalid-reference',
          unresolved_detail: '',
        },
        last_seen_ms: NOW - 30_000,
        workloads: [],
      },
    ];
    const lines = renderRecordsTable(records, NOW).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE DIGEST\s+IMAGE\s+WORKLOADS\s+LAST SEEN$/);
    expect(lines[1]).toContain(digestOf(7));
    expect(lines[1]).toMatch(/nginx:1\.27\s+Deployment\/default\/web,Pod\/default\/old \(deleted\)\s+4d$/);
    expect(lines[2]).toMatch(/^\(unresolved: invalid-reference\)\s+evil\?\[2J:1\s+30s$/);
    expect(lines.join('\n')).not.toContain('\u001b');
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
