/**
 * The reference console facing hostile or careless peers, through the real grpc-js client and a raw
 * TCP socket: the token is checked before a body is read, requests are capped at a size that fits
 * the agent's largest batch, each field has a size limit (INVALID_ARGUMENT), the Bearer scheme is
 * case-insensitive, and a connection that never speaks HTTP/2 is closed by the idle limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from '../../src/console/proto.js';
import { unaryCall } from '../../src/console/channel.js';
import { BATCH_MAX_BYTES } from '../../src/console/outbox-batch.js';
import {
  SERVER_MAX_RECEIVE_BYTES,
  startReferenceConsole,
} from '../../src/console/server/reference-console.js';
import type { ReferenceConsoleOptions } from '../../src/console/server/reference-console.js';
import { MAX_ID_CHARS } from '../../src/console/server/validate.js';
import { fetchClusters } from '../../src/console/views.js';
import type { ReportSightingsRequest, WorkloadSighting } from '../../src/console/wire-types.js';

const TOKEN = 'exposure-test-token';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function consoleUp(extra: Partial<ReferenceConsoleOptions> = {}) {
  const c = await startReferenceConsole({
    listen: '127.0.0.1:0',
    dbFile: ':memory:',
    token: TOKEN,
    ...extra,
  });
  const client = new grpc.Client(c.address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
  cleanups.push(() => c.stop());
  cleanups.push(() => client.close());
  return { console: c, client };
}

const agent = serviceDefinitions().agent;
function method(name: string): grpc.MethodDefinition<unknown, unknown> {
  const m = agent[name];
  if (m === undefined) throw new Error(`no ${name}`);
  return m as grpc.MethodDefinition<unknown, unknown>;
}

/** A raw call with a raw body and any authorization value: what a hostile peer can send. */
function rawCall(client: grpc.Client, body: Buffer, authorization: string | undefined): Promise<grpc.status> {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    if (authorization !== undefined) md.set('authorization', authorization);
    client.makeUnaryRequest(
      method('ReportSightings').path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      { deadline: Date.now() + 20_000 },
      (err) => resolve(err ? err.code : grpc.status.OK),
    );
  });
}

function workload(n: number, over: Partial<WorkloadSighting> = {}): WorkloadSighting {
  return {
    cluster_id: 'ecs:123456789012:us-east-1:prod',
    uid: `arn:aws:ecs:us-east-1:123456789012:task/prod/${n.toString(16).padStart(32, '0')}`,
    kind: { group: 'apps', version: 'v1', kind: 'Pod' },
    native_kind: 'ecs.Task',
    namespace: 'prod',
    name: `task-${n}`,
    owners: [
      { kind: 'ReplicaSet', name: 'svc-1', uid: 'arn:aws:ecs:us-east-1:123456789012:service/prod/svc-1' },
    ],
    labels: { team: 'payments', env: 'prod' },
    containers: [
      {
        name: 'app',
        image: {
          ref: `123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.${n}`,
          registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
          repository: 'app',
          tag: `1.${n}`,
          digest: `sha256:${n.toString(16).padStart(64, '0')}`,
          unresolved_reason: '',
          unresolved_detail: '',
        },
        first_seen_ms: 1_700_000_000_000,
        last_seen_ms: 1_700_000_000_000 + n,
      },
    ],
    node_id: '',
    status: 'RUNNING',
    first_seen_ms: 1_700_000_000_000,
    last_seen_ms: 1_700_000_000_000 + n,
    ...over,
  };
}

function sightings(batchId: string, items: WorkloadSighting[]): ReportSightingsRequest {
  return { batch_id: batchId, sightings: items.map((w) => ({ change: 'workload', workload: w })) };
}

describe('reference console exposure limits', () => {
  it('refuses an unauthenticated 15 MB request as UNAUTHENTICATED, not as too large: the body is never read', async () => {
    const { client } = await consoleUp();
    const huge = Buffer.alloc(15 * 1024 * 1024, 0x41);
    expect(await rawCall(client, huge, undefined)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await rawCall(client, huge, 'Bearer wrong-token')).toBe(grpc.status.UNAUTHENTICATED);
    // With the right token, the same body is refused for its size while it is being read.
    expect(await rawCall(client, huge, `Bearer ${TOKEN}`)).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('accepts the largest batch the agent builds (BATCH_MAX_BYTES of rows as JSON)', async () => {
    const { client } = await consoleUp();
    const items: WorkloadSighting[] = [];
    let jsonBytes = 0;
    for (let n = 0; ; n++) {
      const w = workload(n);
      const size = JSON.stringify({ change: 'workload', workload: w }).length;
      if (jsonBytes + size > BATCH_MAX_BYTES) break;
      items.push(w);
      jsonBytes += size;
    }
    const req = sightings('largest', items);
    const wire = method('ReportSightings').requestSerialize(req);
    expect(wire.length).toBeLessThanOrEqual(SERVER_MAX_RECEIVE_BYTES);
    const reply = (await unaryCall(client, method('ReportSightings'), req, TOKEN, 20_000)) as {
      accepted: number;
    };
    expect(reply.accepted).toBe(items.length);
  });

  it.each([
    ['Bearer', true],
    ['bearer', true],
    ['BEARER', true],
    ['Basic', false],
  ])('the %s scheme is accepted: %s', async (scheme, ok) => {
    const { client } = await consoleUp();
    const body = method('ReportSightings').requestSerialize(sightings(`scheme-${scheme}`, [workload(1)]));
    expect(await rawCall(client, body, `${scheme} ${TOKEN}`)).toBe(
      ok ? grpc.status.OK : grpc.status.UNAUTHENTICATED,
    );
  });

  it.each([
    ['cluster_id', { cluster_id: 'c'.repeat(MAX_ID_CHARS + 1) }, 'sightings[0].workload.cluster_id'],
    ['uid', { uid: 'u'.repeat(MAX_ID_CHARS + 1) }, 'sightings[0].workload.uid'],
    [
      'a label value',
      { labels: { team: 'x'.repeat(16 * 1024 + 1) } },
      'sightings[0].workload.labels[entry 0]',
    ],
    [
      'a label map',
      { labels: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`k${i}`, 'v'])) },
      'sightings[0].workload.labels',
    ],
  ])(
    'refuses an oversized %s with INVALID_ARGUMENT naming the field, and stores nothing',
    async (_n, over, path) => {
      const { console: c, client } = await consoleUp();
      const err = await unaryCall(
        client,
        method('ReportSightings'),
        sightings('big-field', [workload(7, over)]),
        TOKEN,
        10_000,
      ).then(
        () => undefined,
        (e: unknown) => e as grpc.ServiceError,
      );
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toContain(path);
      expect(err?.details.length).toBeLessThan(300);
      const clusters = await fetchClusters(c.address, { token: TOKEN, plaintext: true });
      expect(clusters).toEqual([]);
    },
  );

  it('closes a connection that never sends the HTTP/2 preface after the idle limit', async () => {
    const idleMs = 200;
    const { console: c } = await consoleUp({ limits: { maxConnectionIdleMs: idleMs } });
    const opened = Date.now();
    const socket = connect(c.port, '127.0.0.1');
    cleanups.push(() => {
      socket.destroy();
    });
    const closedAfterMs = await new Promise<number>((resolve) => {
      socket.on('error', () => undefined);
      socket.resume(); // read (and drop) the server's SETTINGS and GOAWAY, so 'close' can follow
      socket.on('close', () => resolve(Date.now() - opened));
    });
    expect(closedAfterMs).toBeGreaterThanOrEqual(idleMs - 20);
    expect(closedAfterMs).toBeLessThan(idleMs * 10);
  });
});
