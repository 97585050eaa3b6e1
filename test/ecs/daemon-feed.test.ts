/**
 * The pushed ECS feed in a real Daemon (real outbox and reference console on loopback, the ECS and
 * SQS emulators, the fleet publishing EventBridge events): a task the scheduler starts reaches the
 * console outbox from its event, with its image digest, and its message is deleted only after the
 * outbox write (the BOOKMARK covering it). /healthz shows the feed's check. The daemon's clock is
 * virtual and never advanced: what the test waits for is loopback I/O only.
 */
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { startSqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import { workloadKey } from '../../adapters/ecs/keys.js';
import { EventBridgePublisher, startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { parseConfig } from '../../src/config/load.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { ClusterObject } from '../../src/model/index.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import type { WatchEvent } from '../../src/watch/events.js';
import { captureLogger, tempDir, until, writeToken } from '../console/helpers.js';

const TOKEN = 'feed-token-0123456789';
const ACCOUNT = '123456789012';
const QUEUE = 'sightline-ecs-events';
const IMAGE = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop:1.0`;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the daemon in pushed ECS mode', { timeout: 120_000 }, () => {
  it('an ECS change through SQS reaches the outbox with its digest; the message is deleted after the write', async () => {
    const t = tempDir('sl-ecs-feed-');
    cleanups.push(t.cleanup);
    const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: ':memory:', token: TOKEN });
    cleanups.push(() => console_.stop());
    const ecs = await startEcsEmulator({ account: ACCOUNT, throttling: { enabled: false } });
    cleanups.push(() => ecs.stop());
    const sqs = await startSqsEmulator({ account: ACCOUNT, maxWaitMs: 50 });
    cleanups.push(() => sqs.stop());
    const queueUrl = sqs.createQueue(QUEUE).url;
    const f = ecs.fleet;
    f.createCluster({ name: 'prod' });
    const td = f.registerTaskDefinition({ family: 'shop', containers: [{ name: 'shop', image: IMAGE }] });
    f.createService({ cluster: 'prod', name: 'shop', taskDefinition: td.arn, desiredCount: 1 });
    new EventBridgePublisher(f, sqs, { queue: QUEUE }).attach();
    const config = parseConfig(
      `tenant: { group: g, issuer: "https://issuer.example" }
providers:
  ecs:
    account: "${ACCOUNT}"
    regions: [us-east-1]
    credentials: { source: static, accessKeyId: "\${FEED_KEY}", secretAccessKey: "\${FEED_SECRET}" }
    endpoints: { ecs: "${ecs.endpoint}", cloudtrail: "${ecs.endpoint}", sqs: "${sqs.endpoint}" }
    changeFeed: { source: sqs, queueUrl: "${queueUrl}" }
console: { address: "${console_.address}", tls: { mode: plaintext }, tokenFile: "${writeToken(t.dir, TOKEN)}" }
stateDir: "${join(t.dir, 'state')}"
http: { listen: "127.0.0.1:0" }
`,
      join(t.dir, 'config.yaml'),
      { env: { FEED_KEY: 'AKIDFEED', FEED_SECRET: 'feed-secret' } },
    );
    const written: WatchEvent<ClusterObject>[] = [];
    /** Messages in the queue (in flight or not) when each event was written. */
    const queuedAtWrite: number[] = [];
    const deletesAtWrite: number[] = [];
    const daemon = new Daemon(config, {
      logger: captureLogger('error').logger,
      registry: createRegistry(false),
      agentVersion: '0.0.0-test',
      scheduler: new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY),
      onEvent: (e) => {
        written.push(e);
        queuedAtWrite.push(sqs.queue(QUEUE)?.messages.length ?? 0);
        deletesAtWrite.push(sqs.calls.get('DeleteMessageBatch'));
      },
    });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const get = (path: string) => fetch(`http://127.0.0.1:${daemon.httpPort ?? 0}${path}`);
    await until(async () => (await get('/readyz')).status === 200, 60_000, '/readyz ready');

    const tasksId = `ecs/${ACCOUNT}/us-east-1/tasks`;
    const before = written.length;
    ecs.calls.reset();
    f.scaleService({ cluster: 'prod', service: 'shop', desiredCount: 2, cloudTrail: false });
    const c = f.findCluster('us-east-1', 'prod');
    const newest = [...(c?.tasks.values() ?? [])].at(-1);
    if (!newest || !c) throw new Error('no task');
    const key = workloadKey(c.arn, newest.arn);
    await until(() => written.some((e) => e.type === 'ADDED' && e.key === key), 60_000, 'task ADDED');
    const i = written.findIndex((e) => e.type === 'ADDED' && e.key === key);
    const added = written[i];
    expect(added?.type === 'ADDED' ? added.object : undefined).toMatchObject({
      workload: { containers: [{ image: { digest: f.digestOf(IMAGE) } }] },
    });
    // Written while its message was still in the queue, before any delete.
    expect(queuedAtWrite[i]).toBe(1);
    expect(deletesAtWrite[i]).toBe(0);
    await until(() => (sqs.queue(QUEUE)?.messages.length ?? 1) === 0, 60_000, 'message deleted');
    const bookmark = written.findIndex(
      (e, j) => j > before && e.type === 'BOOKMARK' && e.sourceId === tasksId,
    );
    expect(bookmark).toBeGreaterThan(i);
    expect(ecs.calls.get('ListTasks')).toBe(0);

    const health = JSON.parse(await (await get('/healthz')).text()) as {
      checks: Record<string, { ok: boolean; detail?: unknown }>;
    };
    expect(health.checks['ECS:changeFeed']).toEqual({
      ok: true,
      detail: { feeds: [{ mode: 'pushed', feed: 'ecs/us-east-1' }] },
    });
  });
});
