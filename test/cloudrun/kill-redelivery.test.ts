/**
 * kill -9 between receive and ack, Cloud Run pushed mode (Log Router sink → Pub/Sub), with the
 * real daemon (`sightline run` as a child process) and the reference console. The broker's clock is
 * virtual (RecordingClock): an ack deadline passes only when the test advances it. Two kill points,
 * both deterministic through emulator hooks:
 * - `receive`: killed as the broker hands the deploy's audit entries to the StreamingPull, before
 *   they are written to the stream;
 * - `ack`: killed as the first ack naming one of them arrives (the broker holds acks: never
 *   applied); the deploy must be in the outbox by then.
 * After a restart on the same state directory the messages are delivered again (their deadline
 * passed), the service and its revision are in the outbox exactly once each (console writes are held at a proxy
 * meanwhile, so every row written since the kill is still there to count), every message is acked,
 * and once the console is reachable it shows one current record with the service's digest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startCloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { digestOf } from '../../adapters/cloudrun/emulator/fleet.js';
import { until } from '../console/helpers.js';
import { KillRig } from '../e2e/kill-rig.js';
import { RecordingClock } from './harness.js';

const P = 'kill-project';
const R = 'us-central1';
const TOPIC = `projects/${P}/topics/run-audit`;
const SUB = `projects/${P}/subscriptions/sightline`;
const NAME = 'kill-svc';
const IMAGE = `us-docker.pkg.dev/${P}/app/${NAME}:1.0`;
/** Past any ack deadline a subscriber may ask for (Pub/Sub allows at most 600 s). */
const PAST_ACK_DEADLINE_MS = 601_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('pushed Cloud Run mode: kill -9 between receive and ack', { timeout: 90_000 }, () => {
  it.each(['receive', 'ack'] as const)(
    'killed at the %s: the entries are delivered again after the restart, written once, then acked',
    async (killAt) => {
      const brokerClock = new RecordingClock();
      const run = await startCloudRunEmulator({
        projects: { [P]: [R] },
        readyDelayMs: 0,
        logSink: { topic: TOPIC, subscription: SUB, scheduler: brokerClock },
      });
      cleanups.push(() => run.stop());
      const broker = run.pubsub;
      if (!broker) throw new Error('no Pub/Sub broker');
      run.fleet.deployService(P, R, 'steady', `us-docker.pkg.dev/${P}/app/steady:1`, { silent: true });

      const rig = await KillRig.start(
        `  cloudRun:
    projects: [${P}]
    regions: [${R}]
    credentials: { source: none }
    endpoints: { run: "127.0.0.1:${run.runEndpoint.port}", logging: "127.0.0.1:${run.loggingEndpoint.port}", runV1: "${run.runV1BaseUrl}", pubsub: "127.0.0.1:${run.pubsubEndpoint?.port ?? 0}", insecure: true }
    changeFeed: { source: pubsub, subscription: "${SUB}" }`,
      );
      cleanups.push(() => rig.stop());
      await rig.startWatcher();
      await until(() => rig.outbox().length === 0, 30_000, 'the initial list in the console');

      // From here every console write stays in the outbox, where the test counts it.
      rig.proxy.hold();
      broker.knobs.holdAcks = true;
      /** Message ids of the deploy's audit entries, as the broker delivered them. */
      const targets = new Set<string>();
      /** Sightings of the service and its revisions, as `<native kind> <name>`, one per outbox row. */
      const rowsOfService = () =>
        rig.outbox().flatMap((r) => (r.rpc === 'sightings' ? sightingsOf(r.payload) : []));
      /** Outbox rows of the deploy when the first ack of its entries arrived (the daemon killed then). */
      const rowsAtAck: number[] = [];
      broker.hooks.delivered = (batch) => {
        const mine = batch.filter((d) => d.message.data.toString('utf8').includes(`services/${NAME}`));
        for (const d of mine) targets.add(d.message.messageId);
        if (killAt === 'receive' && mine.length > 0) rig.killNow();
      };
      broker.hooks.acking = (ids) => {
        if (killAt !== 'ack' || rowsAtAck.length > 0 || !ids.some((id) => targets.has(id))) return;
        rig.killNow();
        rowsAtAck.push(rowsOfService().length);
      };
      run.fleet.deployService(P, R, NAME, IMAGE);

      if (killAt === 'ack') {
        await until(() => rowsAtAck.length > 0, 30_000, 'the ack of the deploy');
        // Acked only once the change was durable: it was in the outbox when the ack came.
        expect(rowsAtAck).toEqual([2]);
      } else {
        await until(() => targets.size > 0, 30_000, 'the delivery of the deploy');
      }
      expect(await rig.reap()).toBe('SIGKILL');
      broker.hooks.delivered = undefined;
      broker.hooks.acking = undefined;
      broker.knobs.holdAcks = false;
      // Not acked: the deploy's entries are outstanding.
      expect(broker.stats(SUB).outstanding).toBeGreaterThanOrEqual(targets.size);
      expect(rowsOfService()).toHaveLength(killAt === 'ack' ? 2 : 0);

      // The ack deadline passes; the restarted daemon gets the entries again and acks them.
      brokerClock.advance(PAST_ACK_DEADLINE_MS);
      expect(broker.stats(SUB).ready).toBeGreaterThanOrEqual(targets.size);
      await rig.startWatcher();
      await until(
        () => {
          const s = broker.stats(SUB);
          return s.ready === 0 && s.outstanding === 0;
        },
        30_000,
        'every entry delivered again and acked',
      );
      // Exactly one write of the deploy, whether the first daemon made it or the second.
      const rows = rowsOfService();
      // The revision and the service (listed by two sources, so sorted).
      expect(rows.map((r) => r.what).sort()).toEqual([
        expect.stringMatching(new RegExp(`^run.googleapis.com/Revision ${NAME}-00001-`)),
        `run.googleapis.com/Service ${NAME}`,
      ]);
      expect(rows.map((r) => r.digest)).toEqual([digestOf(IMAGE), digestOf(IMAGE)]);

      rig.proxy.release();
      await until(() => rig.outbox().length === 0, 30_000, 'the outbox to drain to the console');
      const records = (await rig.records()).filter((r) =>
        r.workloads.some((w) => w.name === NAME && w.current && !w.deleted),
      );
      expect(records.map((r) => r.image.digest)).toEqual([digestOf(IMAGE)]);
    },
  );
});

/** The workloads of `NAME` (the service, its revisions) a sightings payload carries, with their digest. */
function sightingsOf(payload: string): Array<{ what: string; digest: string | undefined }> {
  const p = JSON.parse(payload) as {
    workload?: {
      native_kind?: string;
      name?: string;
      owners?: Array<{ name?: string }>;
      containers?: Array<{ image?: { digest?: string } }>;
    };
  };
  const w = p.workload;
  if (!w || (w.name !== NAME && !(w.owners ?? []).some((o) => o.name === NAME))) return [];
  return [{ what: `${w.native_kind ?? '?'} ${w.name ?? '?'}`, digest: w.containers?.[0]?.image?.digest }];
}
