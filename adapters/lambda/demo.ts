/**
 * Lambda's demo part (src/provider/registration.ts `DemoProvider`): the Lambda + CloudTrail emulator
 * on loopback with three functions in us-east-1 (checkout: a container image with two published
 * versions and a `live` alias sending 10% to the older one; thumbnailer: a container image; a zip
 * function, which is counted and skipped), the `providers.lambda` section pointing at it with the
 * emulator's static keys as `${VAR}` references, and the scripted changes: a new image pushed to
 * checkout's `$LATEST`, then a version published from it with `live` moved onto it. Loaded only by
 * `sightline demo`, the end-to-end tests and the bench, through the registration's dynamic import.
 *
 * With `feeds: 'pushed'` (what `sightline demo` asks for) the fleet publishes Lambda's EventBridge
 * state change events into an SQS emulator queue and the section reads it (`changeFeed.source:
 * sqs`, CloudTrail kept for aliases and tags); `polled` watches through CloudTrail and the
 * ListFunctions poll. `SIGHTLINE_DEMO_LAMBDA_FEED=sqs|cloudtrail` overrides either.
 *
 * Failure: if an emulator cannot start, the promise rejects with nothing left running.
 */
import { startSqsEmulator } from '../aws/emulator/sqs.js';
import type { DemoFeeds, DemoPace, DemoProvider, DemoStep } from '../../src/provider/registration.js';
import { LambdaEventPublisher, startLambdaEmulator } from './emulator/index.js';
import type { LambdaEmulator } from './emulator/index.js';

export const demoLambdaAccount = '111122223333';
export const demoLambdaRegion = 'us-east-1';

export type LambdaDemo = DemoProvider<'lambda', LambdaEmulator>;

const demoKeys = {
  SIGHTLINE_DEMO_LAMBDA_KEY: 'AKIDDEMOLAMBDA',
  SIGHTLINE_DEMO_LAMBDA_SECRET: 'demo-lambda-emulator-secret',
};

const pollsByPace: Record<DemoPace, Record<string, unknown>> = {
  demo: { cloudTrail: { pollIntervalMs: 2_000, overlapMs: 60_000 }, functionPollIntervalMs: 2_000 },
  test: {
    cloudTrail: { pollIntervalMs: 1_000, overlapMs: 60_000, maxRequestsPerSecond: 2 },
    functionPollIntervalMs: 500,
  },
};

export const DEMO_LAMBDA_FEED_ENV = 'SIGHTLINE_DEMO_LAMBDA_FEED';
const DEMO_QUEUE = 'sightline-lambda-events';
const REPO = `${demoLambdaAccount}.dkr.ecr.${demoLambdaRegion}.amazonaws.com`;

export async function startLambdaDemo(pace: DemoPace, feeds: DemoFeeds = 'polled'): Promise<LambdaDemo> {
  const env = process.env[DEMO_LAMBDA_FEED_ENV];
  if (env !== undefined && env !== '' && env !== 'sqs' && env !== 'cloudtrail')
    throw new Error(`${DEMO_LAMBDA_FEED_ENV} must be sqs or cloudtrail, not ${JSON.stringify(env)}`);
  const pushed = env === undefined || env === '' ? feeds === 'pushed' : env === 'sqs';
  const emu = await startLambdaEmulator({ account: demoLambdaAccount, region: demoLambdaRegion });
  seed(emu);
  const demo: LambdaDemo = {
    id: 'lambda',
    title: `Lambda (${demoLambdaRegion}: checkout, thumbnailer)`,
    configSection: {
      account: demoLambdaAccount,
      regions: [demoLambdaRegion],
      credentials: {
        source: 'static',
        accessKeyId: '${SIGHTLINE_DEMO_LAMBDA_KEY}',
        secretAccessKey: '${SIGHTLINE_DEMO_LAMBDA_SECRET}',
      },
      endpoints: { lambda: emu.endpoint, cloudtrail: emu.endpoint },
      ...pollsByPace[pace],
    },
    env: demoKeys,
    steps: steps(emu),
    emulator: emu,
    stop: () => emu.stop(),
  };
  if (!pushed) return demo;
  const sqs = await startSqsEmulator({ account: demoLambdaAccount, region: demoLambdaRegion }).catch(
    async (err: unknown) => {
      await emu.stop();
      throw err;
    },
  );
  const queueUrl = sqs.createQueue(DEMO_QUEUE).url;
  new LambdaEventPublisher(emu.fleet, sqs, DEMO_QUEUE).attach();
  return {
    ...demo,
    title: `Lambda (${demoLambdaRegion}: checkout, thumbnailer; pushed events through SQS)`,
    configSection: {
      ...demo.configSection,
      endpoints: { lambda: emu.endpoint, cloudtrail: emu.endpoint, sqs: sqs.endpoint },
      changeFeed: { source: 'sqs', queueUrl },
    },
    stop: async () => {
      await sqs.stop();
      await emu.stop();
    },
  };
}

function seed(emu: LambdaEmulator): void {
  const fleet = emu.fleet;
  fleet.createFunction({
    name: 'checkout',
    imageUri: `${REPO}/checkout:2.3.0`,
    tags: { team: 'payments', env: 'prod' },
    recordEvent: false,
  });
  fleet.publishVersion({ name: 'checkout', recordEvent: false });
  fleet.updateFunctionCode({ name: 'checkout', imageUri: `${REPO}/checkout:2.4.0`, recordEvent: false });
  fleet.publishVersion({ name: 'checkout', recordEvent: false });
  fleet.setAlias({
    name: 'checkout',
    alias: 'live',
    version: '2',
    weights: { '1': 0.1 },
    recordEvent: false,
  });
  fleet.createFunction({
    name: 'thumbnailer',
    imageUri: 'cgr.dev/chainguard/python:3.12',
    tags: { team: 'media' },
    recordEvent: false,
  });
  fleet.createFunction({ name: 'legacy-cron', packageType: 'Zip', recordEvent: false });
}

function steps(emu: LambdaEmulator): DemoStep[] {
  const fleet = emu.fleet;
  return [
    (round) => {
      const imageUri = `${REPO}/checkout:2.${5 + round}.0`;
      const fn = fleet.updateFunctionCode({ name: 'checkout', imageUri });
      return `Lambda: pushed ${imageUri} to checkout ($LATEST, ${fn.digest?.slice(0, 19) ?? ''}…)`;
    },
    () => {
      const v = fleet.publishVersion({ name: 'checkout' });
      const previous = String(Number(v.version) - 1);
      fleet.setAlias({ name: 'checkout', alias: 'live', version: v.version, weights: { [previous]: 0.1 } });
      return `Lambda: published checkout:${v.version} and moved alias live onto it (10% stays on ${previous})`;
    },
  ];
}
