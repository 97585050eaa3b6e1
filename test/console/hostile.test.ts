import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from '../../src/console/proto.js';
import { ConsoleSink } from '../../src/console/sink.js';
import { clustersListCommand } from '../../src/console/commands.js';
import { fetchRecords } from '../../src/console/views.js';
import { InvalidReplyError } from '../../src/console/wire-types.js';
import { clientRig, consoleConfig, makeCluster, metricValue, tempDir, until, writeToken } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type ReplyMaker = (request: { batch_id?: string }) => Buffer;

/** A gRPC server that speaks the AgentService / ConsoleQuery paths but answers with `reply` bytes. */
async function fakeConsole(reply: ReplyMaker): Promise<{ address: string; calls: () => number }> {
  const server = new grpc.Server();
  const defs = serviceDefinitions();
  let calls = 0;
  // Same paths and request decoding as the real services; the reply goes out as raw bytes.
  const hostile = (def: grpc.ServiceDefinition): grpc.ServiceDefinition =>
    Object.fromEntries(
      Object.entries(def).map(([name, m]) => [
        name,
        { ...m, responseSerialize: (v: unknown) => v as Buffer },
      ]),
    );
  const handler: grpc.handleUnaryCall<{ batch_id?: string }, Buffer> = (call, cb) => {
    calls += 1;
    cb(null, reply(call.request));
  };
  server.addService(hostile(defs.agent), {
    RegisterClusters: handler,
    ReportSightings: handler,
    Heartbeat: handler,
    DeregisterClusters: handler,
  });
  server.addService(hostile(defs.query), { ListClusters: handler, ListRecords: handler });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  cleanups.push(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  return { address: `127.0.0.1:${port}`, calls: () => calls };
}

const writeReply = (v: unknown): Buffer => {
  const m = serviceDefinitions().agent['RegisterClusters'];
  if (m === undefined) throw new Error('no method');
  return Buffer.from(m.responseSerialize(v));
};
const clustersReply = (v: unknown): Buffer => {
  const m = serviceDefinitions().query['ListClusters'];
  if (m === undefined) throw new Error('no method');
  return Buffer.from(m.responseSerialize(v));
};

const modes: { name: string; reply: ReplyMaker; reason: RegExp; outcome: string }[] = [
  {
    name: 'undecodable bytes',
    reply: () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    reason: /console reply rejected: .*INTERNAL/,
    outcome: 'invalid_reply',
  },
  {
    name: 'wrong wire types',
    reply: () => Buffer.from([0x08, 0x96, 0x01, 0x10, 0x0a, 0x0f, 0x00]),
    reason: /INTERNAL|acknowledged batch/,
    outcome: 'invalid_reply',
  },
  {
    name: 'another batch id',
    reply: () => writeReply({ batch_id: 'someone-else', accepted: 1, duplicate: false }),
    reason: /console acknowledged batch "someone-else" but RegisterClusters sent/,
    outcome: 'invalid_reply',
  },
  {
    name: 'impossible accepted count',
    reply: (req) => writeReply({ batch_id: req.batch_id ?? '', accepted: 4_000_000, duplicate: false }),
    reason: /claims 4000000 items accepted in a RegisterClusters batch of 1/,
    outcome: 'invalid_reply',
  },
  {
    name: 'a huge reply',
    reply: (req) =>
      writeReply({
        batch_id: `${req.batch_id ?? ''}${'x'.repeat(2 * 1024 * 1024)}`,
        accepted: 1,
        duplicate: false,
      }),
    reason: /RESOURCE_EXHAUSTED/,
    outcome: 'resource_exhausted',
  },
];

describe('hostile console replies', () => {
  it.each(modes)('rejects $name without crashing and keeps the batch', async ({ reply, reason, outcome }) => {
    const fake = await fakeConsole(reply);
    const t = tempDir();
    const rig = clientRig(
      join(t.dir, 'state'),
      consoleConfig(fake.address, writeToken(t.dir, 'tok-abcdef-123456')),
    );
    cleanups.push(async () => {
      await rig.client.stop(200);
      rig.db.close();
      t.cleanup();
    });
    new ConsoleSink(rig.db, { logger: rig.log.logger }).handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: makeCluster(1) },
    });
    rig.client.start();
    await until(
      () => fake.calls() >= 3 && rig.client.health().reason !== undefined,
      10_000,
      'three rejected replies',
    );
    const h = rig.client.health();
    expect(h.ok).toBe(false);
    expect(h.pending).toBe(1);
    expect(h.reason).toMatch(reason);
    expect(
      await metricValue(rig.metrics, 'sightline_console_push_total', { rpc: 'RegisterClusters', outcome }),
    ).toBeGreaterThanOrEqual(3);
    expect(await metricValue(rig.metrics, 'sightline_console_push_total', { outcome: 'ok' })).toBe(0);
  });

  it('views reject a reply with missing or mistyped fields with a specific error', async () => {
    const fake = await fakeConsole(() =>
      clustersReply({ clusters: [{ registered_ms: 1, last_seen_ms: 2, activity: [], workloads: 1 }] }),
    );
    const err = collect();
    const code = await clustersListCommand({
      console: fake.address,
      token: 't',
      plaintext: true,
      output: 'table',
      stdout: collect().stream,
      stderr: err.stream,
    });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/malformed ListClusters reply from console at clusters\.0\.registration/);
    // A ListClusters body where a ListRecords reply is expected does not decode.
    const records = fetchRecords(fake.address, { plaintext: true });
    await expect(records).rejects.toBeInstanceOf(InvalidReplyError);
    await expect(records).rejects.toThrow(/undecodable ListRecords reply from console/);
  });
});

function collect(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}
