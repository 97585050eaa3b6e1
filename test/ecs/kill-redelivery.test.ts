/**
 * kill -9 between receive and delete, pushed ECS mode (EventBridge → SQS), with the real daemon
 * (`sightline run` as a child process) and the reference console. The SQS emulator's clock is
 * the real one plus a skew the test moves, so the visibility timeout passes only when the test says.
 * Two kill points, both deterministic through emulator hooks:
 * - `receive`: killed inside the ReceiveMessage that takes the task's event, before its reply leaves;
 * - `delete`: killed as the DeleteMessageBatch naming the event arrives (the emulator holds it, never
 *   applied); the change must be in the outbox by then.
 * After a restart on the same state directory the message is received again (the visibility
 * timeout passed), the task's change is in the outbox exactly once (console writes are held at a
 * proxy meanwhile, so every row written since the kill is still there to count), the message is
 * deleted, and once the console is reachable it shows one current record with the task's digest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import { EventBridgePublisher, startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { until } from '../console/helpers.js';
import { KillRig, currentRecordsOf } from '../e2e/kill-rig.js';

const ACCOUNT = '123456789012';
const QUEUE = 'sightline-ecs-events';
const IMAGE = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/batch:2.0`;
/** Past any visibility timeout the reader may ask for (SQS allows at most 12 h). */
const PAST_VISIBILITY_MS = 12 * 3_600_000 + 1_000;
const KEYS = { KILL_AWS_KEY: 'AKIDKILL', KILL_AWS_SECRET: 'kill-secret' };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('pushed ECS mode: kill -9 between receive and delete', { timeout: 90_000 }, () => {
  it.each(['receive', 'delete'] as const)(
    'killed at the %s: the event is received again after the restart, written once, then deleted',
    async (killAt) => {
      const skew = { ms: 0 };
      const ecs = await startEcsEmulator({ account: ACCOUNT, throttling: { enabled: false } });
      cleanups.push(() => ecs.stop());
      const sqs: SqsEmulator = await startSqsEmulator({
        account: ACCOUNT,
        now: () => Date.now() + skew.ms,
        maxWaitMs: 200,
      });
      cleanups.push(() => sqs.stop());
      const queueUrl = sqs.createQueue(QUEUE).url;
      const f = ecs.fleet;
      f.createCluster({ name: 'jobs', recordEvent: false });
      f.registerTaskDefinition({ family: 'batch', containers: [{ name: 'batch', image: IMAGE }] });
      new EventBridgePublisher(f, sqs, { queue: QUEUE }).attach();

      const rig = await KillRig.start(
        `  ecs:
    account: "${ACCOUNT}"
    regions: [us-east-1]
    credentials: { source: static, accessKeyId: "\${KILL_AWS_KEY}", secretAccessKey: "\${KILL_AWS_SECRET}" }
    endpoints: { ecs: "${ecs.endpoint}", cloudtrail: "${ecs.endpoint}", sqs: "${sqs.endpoint}" }
    changeFeed: { source: sqs, queueUrl: "${queueUrl}" }`,
        KEYS,
      );
      cleanups.push(() => rig.stop());
      await rig.startWatcher();
      await until(() => rig.outbox().length === 0, 30_000, 'the initial list in the console');

      // From here every console write stays in the outbox, where the test counts it.
      rig.proxy.hold();
      sqs.knobs.holdDeletes = true;
      const target = { arn: '', messageId: '' };
      const rowsOfTask = () =>
        rig.outbox().filter((r) => r.rpc === 'sightings' && r.payload.includes(target.arn));
      sqs.hooks.received = (messages) => {
        const m = target.arn === '' ? undefined : messages.find((x) => x.body.includes(target.arn));
        if (!m) return;
        target.messageId = m.id;
        if (killAt === 'receive') rig.killNow();
      };
      /** Outbox rows of the task's change when its delete arrived (the daemon killed right then). */
      const rowsAtDelete: number[] = [];
      sqs.hooks.deleting = (ids) => {
        if (killAt !== 'delete' || target.messageId === '' || !ids.includes(target.messageId)) return;
        rig.killNow();
        rowsAtDelete.push(rowsOfTask().length);
      };
      const [task] = f.runTask({ cluster: 'jobs', taskDefinition: 'batch', startedBy: 'kill-test' });
      if (!task) throw new Error('no task started');
      target.arn = task.arn;
      const q = sqs.queue(QUEUE);
      const message = () => q?.messages.find((m) => m.body.includes(task.arn));

      if (killAt === 'delete') {
        await until(() => rowsAtDelete.length > 0, 30_000, 'the delete of the event');
        // Asked for only once the change was durable: it was in the outbox when the delete came.
        expect(rowsAtDelete).toEqual([1]);
        expect(sqs.heldDeletes).toContain(target.messageId);
      } else {
        await until(() => target.messageId !== '', 30_000, 'the receive of the event');
      }
      expect(await rig.reap()).toBe('SIGKILL');
      sqs.hooks.received = undefined;
      sqs.hooks.deleting = undefined;
      sqs.knobs.holdDeletes = false;
      // Not deleted: the message is in flight, received once.
      expect(message()?.receiveCount).toBe(1);
      expect(rowsOfTask()).toHaveLength(killAt === 'delete' ? 1 : 0);

      // The visibility timeout passes; the restarted daemon receives the message again and deletes it.
      skew.ms += PAST_VISIBILITY_MS;
      sqs.wake();
      await rig.startWatcher();
      await until(() => message() === undefined, 30_000, 'the event to be received again and deleted');
      expect(sqs.calls.get('ReceiveMessage')).toBeGreaterThan(0);
      // Exactly one write of the task's change, whether the first daemon made it or the second.
      const rows = rowsOfTask();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.payload).toContain(f.digestOf(IMAGE));

      rig.proxy.release();
      await until(() => rig.outbox().length === 0, 30_000, 'the outbox to drain to the console');
      const records = currentRecordsOf(await rig.records(), task.arn);
      expect(records.map((r) => r.image.digest)).toEqual([f.digestOf(IMAGE)]);
    },
  );
});
