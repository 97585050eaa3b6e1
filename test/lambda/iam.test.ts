/**
 * The IAM documents (config/iam/lambda-policy.json, lambda-events-policy.json) against what the
 * adapter really calls: every call it makes, in every path (list, get, poll, CloudTrail, the
 * events queue), is allowed, and the read policy allows nothing it does not call.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createLambdaAdapter } from '../../adapters/lambda/index.js';
import type { LambdaAdapter } from '../../adapters/lambda/index.js';
import { LAMBDA_OPERATIONS } from '../../adapters/lambda/limits.js';
import { LambdaEventPublisher, startLambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import type { LambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import { startSqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import type { ClusterObject } from '../../src/model/index.js';
import { createWatch } from '../../src/watch/index.js';
import type { Watch } from '../../src/watch/index.js';
import { until } from '../console/helpers.js';
import { listAll } from '../ecs/helpers.js';
import { ACCOUNT, REGION, lambdaConfig, makeDeps } from './helpers.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

function allowedBy(file: string): Set<string> {
  const doc = JSON.parse(readFileSync(path.join(repoRoot, 'config', 'iam', file), 'utf8')) as {
    Statement: Array<{ Effect: string; Action: string[] }>;
  };
  return new Set(doc.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action));
}

let emu: LambdaEmulator | undefined;
let sqs: SqsEmulator | undefined;
let adapter: LambdaAdapter | undefined;
let watch: Watch<ClusterObject> | undefined;

afterEach(async () => {
  await watch?.stop();
  await adapter?.close();
  await sqs?.stop();
  await emu?.stop();
});

describe('Lambda IAM', () => {
  it('allows every action the adapter calls, and the read policy nothing more', async () => {
    emu = await startLambdaEmulator({ throttling: { enabled: false } });
    emu.fleet.generate({ regions: [REGION], functions: 6, versionsPerFunction: 2, zipEvery: 3 });
    sqs = await startSqsEmulator({ account: ACCOUNT, region: REGION, maxWaitMs: 20 });
    const queueUrl = sqs.createQueue('sightline-lambda-events').url;
    new LambdaEventPublisher(emu.fleet, sqs, 'sightline-lambda-events').attach();
    const deps = makeDeps();
    adapter = createLambdaAdapter(
      lambdaConfig(emu.endpoint, {
        endpoints: { lambda: emu.endpoint, cloudtrail: emu.endpoint, sqs: sqs.endpoint },
        changeFeed: { source: 'sqs', queueUrl },
        cloudTrail: { pollIntervalMs: 100 },
        functionPollIntervalMs: 100,
      }),
      deps,
    );
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    const { items } = await listAll(r.functions);
    await r.functions.getMany(items.map((o) => r.functions.keyOf(o)));
    await r.functions.cheapPoll.poll();
    // The hints path: CloudTrail and the queue, through the engine (which also acknowledges).
    const w = createWatch<ClusterObject>(r.functions, {
      logger: pino({ level: 'silent' }),
      metrics: deps.metrics,
    });
    watch = w;
    w.start();
    await until(() => w.synced, 10_000, 'synced');
    emu.fleet.updateFunctionCode({
      name: 'fn-00001',
      imageUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/x:2`,
    });
    await until(
      () => (emu?.calls.get('LookupEvents') ?? 0) > 0 && (sqs?.calls.get('ReceiveMessage') ?? 0) > 0,
      10_000,
      'CloudTrail and queue reads',
    );

    const read = allowedBy('lambda-policy.json');
    const usedRead = new Set(
      [...emu.calls.actionsSeen].map((a) => (a === 'LookupEvents' ? `cloudtrail:${a}` : `lambda:${a}`)),
    );
    expect([...usedRead].filter((a) => !read.has(a))).toEqual([]);
    expect([...read].filter((a) => !usedRead.has(a))).toEqual([]);
    expect([...LAMBDA_OPERATIONS].map((o) => `lambda:${o}`).filter((a) => !read.has(a))).toEqual([]);

    const events = allowedBy('lambda-events-policy.json');
    const usedSqs = [...sqs.calls.actionsSeen].map((a) => `sqs:${a}`);
    expect(usedSqs.length).toBeGreaterThan(0);
    expect(usedSqs.filter((a) => !events.has(a))).toEqual([]);
  });
});
