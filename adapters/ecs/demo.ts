/**
 * ECS's demo part (src/provider/registration.ts `DemoProvider`): the emulator (ECS and CloudTrail)
 * on loopback with two clusters (payments on EC2 with two container instances, web on Fargate) and
 * three services, the `providers.ecs` section pointing at it with the emulator's static keys as
 * `${VAR}` references, and the scripted changes: a roll-out, scaling, a scheduler task replacement
 * (invisible to CloudTrail), a standalone task, a service deleted and recreated. Loaded only by
 * `sightline demo`, the end-to-end tests and the bench, through the registration's dynamic import.
 *
 * With `feeds: 'pushed'` (what `sightline demo` asks for) the demo runs ECS in pushed mode: the
 * fleet publishes EventBridge events into an SQS emulator queue and the section reads it
 * (`changeFeed.source: sqs`); `polled` (the end-to-end world's default) watches through CloudTrail
 * and the task poll. `SIGHTLINE_DEMO_ECS_FEED=sqs|cloudtrail` overrides either.
 *
 * Failure: if the emulator cannot start, the promise rejects with nothing left running.
 */
import { startSqsEmulator } from '../aws/emulator/sqs.js';
import { EventBridgePublisher, startEcsEmulator } from './emulator/index.js';
import type { EcsEmulator } from './emulator/index.js';
import type { DemoFeeds, DemoPace, DemoProvider, DemoStep } from '../../src/provider/registration.js';

export const demoAccount = '111122223333';
export const demoAwsRegion = 'us-east-1';

export type EcsDemo = DemoProvider<'ecs', EcsEmulator>;

/** The emulator's static keys, which the section references (a secret field takes no inline value). */
const demoKeys = {
  SIGHTLINE_DEMO_AWS_KEY: 'AKIDDEMOEMULATOR',
  SIGHTLINE_DEMO_AWS_SECRET: 'demo-emulator-secret',
};

/** CloudTrail and task polls: every 2 s for a person, faster in tests. */
const pollsByPace: Record<DemoPace, Record<string, unknown>> = {
  demo: { cloudTrail: { pollIntervalMs: 2_000, overlapMs: 60_000 }, taskPollIntervalMs: 2_000 },
  test: {
    cloudTrail: { pollIntervalMs: 1_000, overlapMs: 60_000, maxRequestsPerSecond: 2 },
    taskPollIntervalMs: 500,
  },
};

/** The env var that turns the demo's pushed ECS mode on. */
export const DEMO_ECS_FEED_ENV = 'SIGHTLINE_DEMO_ECS_FEED';
const DEMO_QUEUE = 'sightline-ecs-events';

export async function startEcsDemo(pace: DemoPace, feeds: DemoFeeds = 'polled'): Promise<EcsDemo> {
  const env = process.env[DEMO_ECS_FEED_ENV];
  if (env !== undefined && env !== '' && env !== 'sqs' && env !== 'cloudtrail')
    throw new Error(`${DEMO_ECS_FEED_ENV} must be sqs or cloudtrail, not ${JSON.stringify(env)}`);
  const pushed = env === undefined || env === '' ? feeds === 'pushed' : env === 'sqs';
  const ecs = await startEcsEmulator({ account: demoAccount, region: demoAwsRegion });
  seed(ecs);
  const demo = demoOf(ecs, pace);
  if (!pushed) return demo;
  const sqs = await startSqsEmulator({ account: demoAccount, region: demoAwsRegion }).catch(
    async (err: unknown) => {
      await ecs.stop();
      throw err;
    },
  );
  const queueUrl = sqs.createQueue(DEMO_QUEUE).url;
  new EventBridgePublisher(ecs.fleet, sqs, { queue: DEMO_QUEUE }).attach();
  return {
    ...demo,
    title: `ECS (${demoAwsRegion}: payments, web; pushed events through SQS)`,
    configSection: {
      ...demo.configSection,
      endpoints: { ecs: ecs.endpoint, cloudtrail: ecs.endpoint, sqs: sqs.endpoint },
      changeFeed: { source: 'sqs', queueUrl },
    },
    stop: async () => {
      await sqs.stop();
      await ecs.stop();
    },
  };
}

function demoOf(ecs: EcsEmulator, pace: DemoPace): EcsDemo {
  return {
    id: 'ecs',
    title: `ECS (${demoAwsRegion}: payments, web)`,
    configSection: {
      account: demoAccount,
      regions: [demoAwsRegion],
      credentials: {
        source: 'static',
        accessKeyId: '${SIGHTLINE_DEMO_AWS_KEY}',
        secretAccessKey: '${SIGHTLINE_DEMO_AWS_SECRET}',
      },
      endpoints: { ecs: ecs.endpoint, cloudtrail: ecs.endpoint },
      ...pollsByPace[pace],
    },
    env: demoKeys,
    steps: steps(ecs),
    emulator: ecs,
    stop: () => ecs.stop(),
  };
}

function seed(ecs: EcsEmulator): void {
  const fleet = ecs.fleet;
  fleet.createCluster({
    name: 'payments',
    capacityProviders: [],
    tags: { team: 'payments', env: 'prod' },
    recordEvent: false,
  });
  fleet.createCluster({ name: 'web', tags: { team: 'web', env: 'prod' }, recordEvent: false });
  for (let i = 0; i < 2; i++)
    fleet.registerContainerInstance({
      cluster: 'payments',
      availabilityZone: `us-east-1${i === 0 ? 'a' : 'b'}`,
      recordEvent: false,
    });
  fleet.registerTaskDefinition({
    family: 'ledger',
    containers: [
      { name: 'ledger', image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/ledger:3.2.0' },
      { name: 'envoy', image: 'cgr.dev/chainguard/envoy:latest' },
    ],
    recordEvent: false,
  });
  fleet.registerTaskDefinition({
    family: 'storefront',
    containers: [{ name: 'web', image: 'cgr.dev/chainguard/nginx:1.27' }],
    recordEvent: false,
  });
  fleet.registerTaskDefinition({
    family: 'api',
    containers: [{ name: 'api', image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/api:7.1.0' }],
    recordEvent: false,
  });
  fleet.createService({
    cluster: 'payments',
    name: 'ledger',
    taskDefinition: 'ledger',
    desiredCount: 2,
    launchType: 'EC2',
    recordEvent: false,
  });
  fleet.createService({
    cluster: 'web',
    name: 'storefront',
    taskDefinition: 'storefront',
    desiredCount: 3,
    launchType: 'FARGATE',
    recordEvent: false,
  });
  fleet.createService({
    cluster: 'web',
    name: 'api',
    taskDefinition: 'api',
    desiredCount: 2,
    launchType: 'FARGATE',
    recordEvent: false,
  });
}

function steps(ecs: EcsEmulator): DemoStep[] {
  const fleet = ecs.fleet;
  return [
    (round) => {
      const image = `cgr.dev/chainguard/nginx:1.${28 + round}`;
      const td = fleet.registerTaskDefinition({ family: 'storefront', containers: [{ name: 'web', image }] });
      fleet.updateService({
        cluster: 'web',
        service: 'storefront',
        taskDefinition: `storefront:${td.revision}`,
      });
      return `ECS: web/storefront rolled out ${image} (the scheduler replaced its tasks)`;
    },
    (round) => {
      const desiredCount = round % 2 === 0 ? 4 : 3;
      fleet.scaleService({ cluster: 'web', service: 'storefront', desiredCount });
      return `ECS: scaled web/storefront to ${desiredCount} tasks`;
    },
    () => {
      const r = fleet.replaceServiceTasks({ cluster: 'payments', service: 'ledger', count: 1 });
      return `ECS: the scheduler replaced ${r.stopped.length} payments/ledger task (no CloudTrail event)`;
    },
    () => {
      const tasks = fleet.runTask({
        cluster: 'payments',
        taskDefinition: 'ledger',
        startedBy: 'demo-migration',
        launchType: 'EC2',
      });
      return `ECS: ran ${tasks.length} standalone payments task (RunTask in CloudTrail)`;
    },
    (round) => {
      if (round % 2 === 0) {
        fleet.deleteService({ cluster: 'web', service: 'api' });
        return 'ECS: deleted service web/api';
      }
      fleet.createService({
        cluster: 'web',
        name: 'api',
        taskDefinition: 'api',
        desiredCount: 2,
        launchType: 'FARGATE',
      });
      return 'ECS: recreated service web/api';
    },
  ];
}
