/**
 * The Pub/Sub emulator and the Log Router sink, through the real @google-cloud/pubsub client on
 * loopback: audit entries arrive as LogEntry JSON, an ack removes a message, a nack or an expired
 * deadline redelivers it, flow control bounds what is outstanding, and the knobs (duplicates,
 * loss, outage) act as documented.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PubSub } from '@google-cloud/pubsub';
import type { Message, Subscription } from '@google-cloud/pubsub';
import type { CloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { startCloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { RecordingClock } from './harness.js';

/** Conditions are waited for, never slept on; the bound only ends a broken run. */
const WAIT = { timeout: 20_000, interval: 10 };

const P = 'proj-alpha';
const TOPIC = 'projects/sink-host/topics/run-audit';
const SUB = 'projects/sink-host/subscriptions/sightline';

let emu: CloudRunEmulator | undefined;
let client: PubSub | undefined;
const subs: Subscription[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) await s.close();
  await client?.close();
  await emu?.stop();
  client = undefined;
  emu = undefined;
});

async function start(
  extra: { clock?: RecordingClock; random?: () => number } = {},
): Promise<CloudRunEmulator> {
  emu = await startCloudRunEmulator({
    projects: { [P]: ['us-central1'], 'proj-other': ['us-central1'] },
    logSink: {
      topic: TOPIC,
      subscription: SUB,
      ackDeadlineS: 10,
      ...(extra.clock ? { scheduler: extra.clock } : {}),
      ...(extra.random ? { random: extra.random } : {}),
    },
  });
  client = new PubSub({
    projectId: 'sink-host',
    apiEndpoint: `127.0.0.1:${emu.pubsubEndpoint?.port ?? 0}`,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  });
  return emu;
}

function receive(maxMessages = 100): { messages: Message[]; sub: Subscription } {
  const sub = (client as PubSub).subscription(SUB, {
    flowControl: { maxMessages, allowExcessMessages: false },
    streamingOptions: { maxStreams: 1 },
  });
  subs.push(sub);
  const messages: Message[] = [];
  sub.on('message', (m: Message) => messages.push(m));
  sub.on('error', () => undefined);
  return { messages, sub };
}

const json = (m: Message): Record<string, unknown> =>
  JSON.parse(m.data.toString('utf8')) as Record<string, unknown>;

describe('Pub/Sub emulator and log sink', () => {
  it('publishes each Cloud Run audit entry as LogEntry JSON; an acked message is not delivered again', async () => {
    const e = await start();
    const got = receive();
    e.fleet.deployService(P, 'us-central1', 'web', 'gcr.io/p/web:1');
    await vi.waitFor(() => expect(got.messages.length).toBe(2), WAIT);
    const entry = json(got.messages[0] as Message);
    expect(entry['logName']).toBe(`projects/${P}/logs/cloudaudit.googleapis.com%2Factivity`);
    const payload = entry['protoPayload'] as Record<string, unknown>;
    expect(payload['@type']).toBe('type.googleapis.com/google.cloud.audit.AuditLog');
    expect(payload['serviceName']).toBe('run.googleapis.com');
    expect(typeof entry['insertId']).toBe('string');
    for (const m of got.messages) m.ack();
    await vi.waitFor(
      () => expect(e.pubsub?.stats(SUB)).toEqual({ ready: 0, outstanding: 0, acked: 2 }),
      WAIT,
    );
    expect(e.calls.count('google.pubsub.v1.Subscriber/StreamingPull')).toBeGreaterThanOrEqual(1);
  });

  it('redelivers a nacked message at once, and an unacked one after its deadline with deliveryAttempt + 1', async () => {
    const clock = new RecordingClock();
    const e = await start({ clock });
    const first = receive();
    e.fleet.writeAudit(P, {
      logName: `projects/${P}/logs/cloudaudit.googleapis.com%2Factivity`,
      protoPayload: {
        serviceName: 'run.googleapis.com',
        methodName: 'google.cloud.run.v2.Services.CreateService',
      },
    });
    await vi.waitFor(() => expect(first.messages.length).toBe(1), WAIT);
    (first.messages[0] as Message).nack();
    await vi.waitFor(() => expect(first.messages.length).toBe(2), WAIT);
    const again = first.messages[1] as Message;
    expect(again.id).toBe((first.messages[0] as Message).id);
    // The stream goes away without acking (kill -9): the deadline passes and it comes back.
    await first.sub.close();
    await vi.waitFor(() => expect(e.openStreamingPulls()).toBe(0), WAIT);
    clock.advance(11_000);
    expect(e.pubsub?.stats(SUB).outstanding).toBe(0);
    const second = receive();
    await vi.waitFor(() => expect(second.messages.length).toBe(1), WAIT);
    expect((second.messages[0] as Message).id).toBe(again.id);
    expect((second.messages[0] as Message).deliveryAttempt).toBeGreaterThanOrEqual(2);
  });

  it('keeps at most maxOutstandingMessages outstanding on a stream', async () => {
    const e = await start();
    const got = receive(2);
    for (const n of ['a', 'b', 'c']) e.fleet.deployService(P, 'us-central1', n, `gcr.io/p/${n}:1`);
    await vi.waitFor(() => expect(got.messages.length).toBe(2), WAIT);
    expect(e.pubsub?.stats(SUB).ready).toBe(4);
    for (const m of got.messages.slice(0, 2)) m.ack();
    await vi.waitFor(() => expect(got.messages.length).toBe(4), WAIT);
  });

  it('knobs: duplicates deliver twice, loss drops, an outage refuses streams until it ends', async () => {
    const e = await start({ random: () => 0 });
    const broker = e.pubsub;
    if (!broker) throw new Error('no broker');
    const got = receive();
    broker.knobs.duplicateRate = 1;
    e.fleet.deployService(P, 'us-central1', 'dup', 'gcr.io/p/dup:1');
    await vi.waitFor(() => expect(got.messages.length).toBe(4), WAIT);
    expect(new Set(got.messages.map((m) => m.id)).size).toBe(2);
    for (const m of got.messages) m.ack();
    broker.knobs.duplicateRate = 0;
    broker.knobs.lossRate = 1;
    e.fleet.deployService(P, 'us-central1', 'lost', 'gcr.io/p/lost:1');
    expect(broker.stats(SUB).ready).toBe(0);
    broker.knobs.lossRate = 0;
    broker.setOutage(true);
    await vi.waitFor(() => expect(e.openStreamingPulls()).toBe(0), WAIT);
    e.fleet.deployService(P, 'us-central1', 'during', 'gcr.io/p/during:1');
    broker.setOutage(false);
    const service = (m: Message): unknown =>
      ((json(m)['resource'] as Record<string, unknown>)['labels'] as Record<string, unknown>)['service_name'];
    await vi.waitFor(() => expect(got.messages.filter((m) => service(m) === 'during')).toHaveLength(2), WAIT);
    // The lost deploy's activity entry never came (its later Ready event, written after loss ended, may).
    expect(got.messages.filter((m) => service(m) === 'lost').length).toBeLessThanOrEqual(1);
  });

  it('the sink skips entries its filter does not take (foreign services, data access)', async () => {
    const e = await start();
    e.fleet.writeAudit(P, {
      logName: `projects/${P}/logs/cloudaudit.googleapis.com%2Factivity`,
      protoPayload: { serviceName: 'storage.googleapis.com', methodName: 'storage.buckets.create' },
    });
    e.fleet.writeAudit(P, {
      logName: `projects/${P}/logs/cloudaudit.googleapis.com%2Fdata_access`,
      protoPayload: {
        serviceName: 'run.googleapis.com',
        methodName: 'google.cloud.run.v2.Services.GetService',
      },
    });
    expect(e.pubsub?.published.get(TOPIC) ?? 0).toBe(0);
  });
});
