/**
 * The change paths of the Lambda adapter, through the real watch engine, the real SDK clients and
 * the emulators, on virtual time: a new image pushed to a function (UpdateFunctionCode) reaches the
 * store with its digest through CloudTrail, through the ListFunctions cheap poll alone (no
 * CloudTrail event), and through Lambda's EventBridge events in SQS (no poll, no CloudTrail); a
 * published version and an alias move arrive as a family refresh; a deleted function takes its
 * versions with it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createLambdaAdapter } from '../../adapters/lambda/index.js';
import type { LambdaAdapter } from '../../adapters/lambda/index.js';
import { LambdaEventPublisher, startLambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import type { LambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import { startSqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import type { ClusterObject } from '../../src/model/index.js';
import { createWatch } from '../../src/watch/index.js';
import type { Watch } from '../../src/watch/index.js';
import { until } from '../console/helpers.js';
import { VirtualClock } from '../watch/virtual-clock.js';
import {
  ACCOUNT,
  REGION,
  REPO,
  START_MS,
  advanceUntil,
  lambdaConfig,
  makeDeps,
  workloads,
} from './helpers.js';

const HOUR_MS = 3_600_000;
const FN_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:checkout`;

let emu: LambdaEmulator | undefined;
let sqs: SqsEmulator | undefined;
let adapter: LambdaAdapter | undefined;
let watch: Watch<ClusterObject> | undefined;

afterEach(async () => {
  await watch?.stop();
  await adapter?.close();
  await sqs?.stop();
  await emu?.stop();
  watch = undefined;
  adapter = undefined;
  sqs = undefined;
  emu = undefined;
});

type Path = 'cloudtrail' | 'poll' | 'sqs';

async function setup(
  path: Path,
): Promise<{ clock: VirtualClock; emu: LambdaEmulator; w: Watch<ClusterObject> }> {
  const clock = new VirtualClock();
  await clock.advanceTo(START_MS);
  const e = await startLambdaEmulator({
    now: () => clock.now(),
    throttling: { enabled: false },
    recordReadEvents: false,
  });
  emu = e;
  e.fleet.createFunction({
    name: 'checkout',
    imageUri: `${REPO}/checkout:1.0`,
    tags: { team: 'pay' },
    recordEvent: false,
  });
  e.fleet.publishVersion({ name: 'checkout', recordEvent: false });
  e.fleet.setAlias({ name: 'checkout', alias: 'live', version: '1', recordEvent: false });
  const overrides: Record<string, unknown> = {
    cloudtrail: {
      cloudTrail: { pollIntervalMs: 10_000, overlapMs: 60_000 },
      functionPollIntervalMs: HOUR_MS,
    },
    poll: { cloudTrail: { pollIntervalMs: HOUR_MS, overlapMs: 60_000 }, functionPollIntervalMs: 30_000 },
    sqs: { functionPollIntervalMs: HOUR_MS },
  }[path];
  if (path === 'sqs') {
    const q = await startSqsEmulator({
      account: ACCOUNT,
      region: REGION,
      now: () => clock.now(),
      maxWaitMs: 50,
    });
    sqs = q;
    const queueUrl = q.createQueue('lambda-events').url;
    new LambdaEventPublisher(e.fleet, q, 'lambda-events', () => clock.now()).attach();
    Object.assign(overrides, {
      endpoints: { lambda: e.endpoint, cloudtrail: e.endpoint, sqs: q.endpoint },
      changeFeed: { source: 'sqs', queueUrl, cloudTrail: false, reconcileIntervalMs: HOUR_MS },
    });
  }
  const deps = makeDeps(clock.scheduler);
  adapter = createLambdaAdapter(lambdaConfig(e.endpoint, overrides), deps);
  const [source] = await adapter.sources();
  if (!source) throw new Error('no source');
  const w = createWatch<ClusterObject>(source, {
    scheduler: clock.scheduler,
    random: () => 0,
    metrics: deps.metrics,
    logger: pino({ level: 'silent' }),
  });
  watch = w;
  w.start();
  await until(() => w.synced, 10_000, 'first list');
  return { clock, emu: e, w };
}

function fnDigest(w: Watch<ClusterObject>): string | undefined {
  const fn = workloads(w.store.values()).find((x) => x.uid === FN_ARN);
  return fn?.containers[0]?.image.digest;
}

describe('Lambda change paths', () => {
  it.each([
    ['cloudtrail', 'CloudTrail (UpdateFunctionCode20150331v2)', 10_000],
    ['poll', 'the ListFunctions poll (LastModified/CodeSha256), no CloudTrail event', 30_000],
    ['sqs', 'the EventBridge state change event in SQS, no poll and no CloudTrail', 5_000],
  ] as const)(
    'a new image pushed to a function reaches the store with its digest through %s: %s',
    async (path, _what, boundMs) => {
      const { clock, emu: e, w } = await setup(path);
      const before = fnDigest(w);
      expect(before).toMatch(/^sha256:/);
      const fn = e.fleet.updateFunctionCode({
        name: 'checkout',
        imageUri: `${REPO}/checkout:2.0`,
        recordEvent: path === 'cloudtrail',
      });
      const tookMs = await advanceUntil(
        clock,
        () => fnDigest(w) === fn.digest,
        1_000,
        `the new digest via ${path}`,
      );
      expect(tookMs).toBeLessThanOrEqual(boundMs + 1_000);
      const latest = workloads(w.store.values()).find((x) => x.uid === FN_ARN);
      expect(latest?.containers[0]?.image).toMatchObject({
        repository: 'checkout',
        tag: '2.0',
        digest: fn.digest,
      });
    },
  );

  it('a published version and an alias move arrive through CloudTrail as one family refresh', async () => {
    const { clock, emu: e, w } = await setup('cloudtrail');
    e.fleet.updateFunctionCode({ name: 'checkout', imageUri: `${REPO}/checkout:2.0` });
    const v2 = e.fleet.publishVersion({ name: 'checkout' });
    e.fleet.setAlias({ name: 'checkout', alias: 'live', version: v2.version });
    const status = (): Record<string, string | undefined> =>
      Object.fromEntries(
        workloads(w.store.values())
          .filter((x) => x.kind === 'ReplicaSet')
          .map((x) => [x.name, x.status]),
      );
    await advanceUntil(clock, () => status()['checkout:2'] === 'Serving', 1_000, 'version 2 serving');
    expect(status()).toEqual({ 'checkout:1': 'Published', 'checkout:2': 'Serving' });
    const v2obj = workloads(w.store.values()).find((x) => x.name === 'checkout:2');
    expect(v2obj?.owners).toEqual([{ kind: 'Deployment', name: 'checkout', uid: FN_ARN }]);
    expect(v2obj?.containers[0]?.image.digest).toBe(v2.digest);
  });

  it('a deleted function takes its versions with it (CloudTrail DeleteFunction20150331)', async () => {
    const { clock, emu: e, w } = await setup('cloudtrail');
    expect(workloads(w.store.values())).toHaveLength(2);
    e.fleet.deleteFunction({ name: 'checkout' });
    await advanceUntil(clock, () => workloads(w.store.values()).length === 0, 1_000, 'tombstones');
    expect([...w.store.values()].map((o) => o.kind).sort()).toEqual(['cluster', 'namespace']);
  });
});
