/**
 * A pushed-mode ECS world for tests: the ECS emulator whose fleet publishes EventBridge events
 * into the SQS emulator's queue (with a DLQ), an ECS adapter in `changeFeed.source: sqs` mode on a
 * warped scheduler shared with both emulators, and watch engines on its sources that acknowledge
 * (`durable`) every BOOKMARK and RELIST done as the daemon does after its outbox write, unless told
 * not to.
 */
import { vi } from 'vitest';
import type { Subscription } from 'rxjs';
import { startSqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { EcsAdapter, EcsRegionSources } from '../../adapters/ecs/index.js';
import { EventBridgePublisher, startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { WatchEvent } from '../../src/watch/events.js';
import { WatchEngine } from '../../src/watch/engine.js';
import type { WatchSource } from '../../src/watch/source.js';
import { ACCOUNT, WarpScheduler, ecsConfig, makeDeps } from './helpers.js';
import type { TestDeps } from './helpers.js';

export const QUEUE = 'sightline-ecs-events';
export const IMAGE = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop:1.0`;

export interface FeedWorld {
  sched: WarpScheduler;
  ecs: EcsEmulator;
  sqs: SqsEmulator;
  events: EventBridgePublisher;
  deps: TestDeps;
  queueUrl: string;
  adapter: EcsAdapter;
  region: EcsRegionSources;
  /** Acknowledge durable cursors (as the daemon does after its outbox write). */
  ack: boolean;
  watch(source: WatchSource<ClusterObject>): {
    engine: WatchEngine<ClusterObject>;
    events: WatchEvent<ClusterObject>[];
  };
  /** A second adapter on the same emulators (a restarted process). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startFeedWorld(
  options: {
    factor?: number;
    changeFeed?: Record<string, unknown>;
    taskPollIntervalMs?: number;
    visibilityTimeoutMs?: number;
  } = {},
): Promise<FeedWorld> {
  const sched = new WarpScheduler(options.factor ?? 10);
  const ecs = await startEcsEmulator({ now: () => sched.now() });
  const sqs = await startSqsEmulator({ now: () => sched.now(), maxWaitMs: 50 });
  sqs.createQueue(`${QUEUE}-dlq`);
  const queueUrl = sqs.createQueue(QUEUE, {
    visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
    maxReceiveCount: 5,
    deadLetterQueue: `${QUEUE}-dlq`,
  }).url;
  const events = new EventBridgePublisher(ecs.fleet, sqs, { queue: QUEUE, now: () => sched.now() });
  const engines: WatchEngine<ClusterObject>[] = [];
  const subs: Subscription[] = [];
  const config = ecsConfig(ecs.endpoint, {
    endpoints: { ecs: ecs.endpoint, cloudtrail: ecs.endpoint, sqs: sqs.endpoint },
    taskPollIntervalMs: options.taskPollIntervalMs ?? 1_000,
    changeFeed: { source: 'sqs', queueUrl, ...options.changeFeed },
  });
  const make = (): { deps: TestDeps; adapter: EcsAdapter; region: EcsRegionSources } => {
    const deps = makeDeps({ scheduler: sched });
    const adapter = createEcsAdapter(config, deps, { maxAttempts: 1 });
    const [region] = adapter.regions();
    if (!region) throw new Error('no region');
    return { deps, adapter, region };
  };
  const stopEngines = async (): Promise<void> => {
    for (const s of subs.splice(0)) s.unsubscribe();
    for (const e of engines.splice(0)) await e.stop();
  };
  const world: FeedWorld = {
    sched,
    ecs,
    sqs,
    events,
    queueUrl,
    ack: true,
    ...make(),
    watch(source) {
      const engine = new WatchEngine(source, { scheduler: sched });
      const seen: WatchEvent<ClusterObject>[] = [];
      subs.push(
        engine.events$.subscribe((e) => {
          seen.push(e);
          if (!world.ack) return;
          if ((e.type === 'BOOKMARK' || (e.type === 'RELIST' && e.phase === 'done')) && e.cursor)
            source.durable?.(e.cursor);
        }),
      );
      engines.push(engine);
      engine.start();
      return { engine, events: seen };
    },
    async restart() {
      await stopEngines();
      await world.adapter.close();
      Object.assign(world, make());
    },
    async close() {
      events.detach();
      await stopEngines();
      await world.adapter.close();
      await sqs.stop();
      await ecs.stop();
    },
  };
  return world;
}

/** A cluster with one service of `count` tasks; returns its name. */
export function seedService(w: FeedWorld, count = 2): { cluster: string; service: string } {
  const f = w.ecs.fleet;
  f.createCluster({ name: 'prod' });
  const td = f.registerTaskDefinition({ family: 'shop', containers: [{ name: 'shop', image: IMAGE }] });
  f.createService({ cluster: 'prod', name: 'shop', taskDefinition: td.arn, desiredCount: count });
  return { cluster: 'prod', service: 'shop' };
}

export async function until(check: () => void, timeoutMs = 30_000): Promise<void> {
  await vi.waitFor(check, { timeout: timeoutMs, interval: 10 });
}

export function inQueue(w: FeedWorld): number {
  return w.sqs.queue(QUEUE)?.messages.length ?? 0;
}

export async function feedMessages(deps: TestDeps, outcome: string): Promise<number> {
  const m = await deps.metrics.changeFeedMessages.get();
  return m.values.filter((v) => v.labels.outcome === outcome).reduce((a, v) => a + v.value, 0);
}

export async function fallbackGauge(deps: TestDeps): Promise<number> {
  const m = await deps.metrics.changeFeedFallback.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}
