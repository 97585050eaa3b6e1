/**
 * Cloud Run's demo part (src/provider/registration.ts `DemoProvider`): the emulator on loopback with
 * one project in two regions (services checkout and catalog, a job nightly-report), the
 * `providers.cloudRun` section pointing at it, and the scripted changes: an image roll-out, a
 * service created and deleted, a job run. Loaded only by `sightline demo`, the end-to-end tests
 * and the bench, through the registration's dynamic import. With `feeds: 'pushed'` (what
 * `sightline demo` asks for) the emulator also runs a Log Router sink to Pub/Sub and the section
 * reads it (pushed mode, `changeFeed.source: pubsub`); `polled` (the end-to-end world's default)
 * reads the audit tail. `SIGHTLINE_DEMO_CLOUDRUN_FEED=pubsub|tail` overrides either.
 *
 * Failure: if the emulator cannot start, the promise rejects with nothing left running.
 */
import { startCloudRunEmulator } from './emulator/index.js';
import type { CloudRunEmulator } from './emulator/index.js';
import type { DemoFeeds, DemoPace, DemoProvider, DemoStep } from '../../src/provider/registration.js';

export const demoProject = 'demo-project-1';
export const demoRegions = ['us-central1', 'europe-west1'];

export type CloudRunDemo = DemoProvider<'cloudRun', CloudRunEmulator>;

/** `SIGHTLINE_DEMO_CLOUDRUN_FEED=pubsub`: the demo watches Cloud Run through the Pub/Sub feed. */
export const DEMO_FEED_ENV = 'SIGHTLINE_DEMO_CLOUDRUN_FEED';
const demoTopic = `projects/${demoProject}/topics/sightline-run-audit`;
const demoSubscription = `projects/${demoProject}/subscriptions/sightline-run-audit`;

/** Time a new revision takes to become ready: visible to a person, short in tests. */
const readyDelayMsByPace: Record<DemoPace, number> = { demo: 1_500, test: 200 };

export async function startCloudRunDemo(
  pace: DemoPace,
  feed: string | undefined = process.env[DEMO_FEED_ENV],
  feeds: DemoFeeds = 'polled',
): Promise<CloudRunDemo> {
  if (feed !== undefined && feed !== '' && feed !== 'pubsub' && feed !== 'tail')
    throw new Error(`${DEMO_FEED_ENV} must be pubsub or tail, not ${JSON.stringify(feed)}`);
  const pushed = feed === undefined || feed === '' ? feeds === 'pushed' : feed === 'pubsub';
  const run = await startCloudRunEmulator({
    projects: { [demoProject]: demoRegions },
    readyDelayMs: readyDelayMsByPace[pace],
    ...(pushed ? { logSink: { topic: demoTopic, subscription: demoSubscription } } : {}),
  });
  seed(run);
  return {
    id: 'cloudRun',
    title: `Cloud Run (${demoRegions.join(', ')}${pushed ? ', Pub/Sub feed' : ''})`,
    configSection: {
      projects: [demoProject],
      regions: demoRegions,
      credentials: { source: 'none' },
      endpoints: {
        run: `127.0.0.1:${run.runEndpoint.port}`,
        logging: `127.0.0.1:${run.loggingEndpoint.port}`,
        runV1: run.runV1BaseUrl,
        ...(run.pubsubEndpoint ? { pubsub: `127.0.0.1:${run.pubsubEndpoint.port}` } : {}),
        insecure: true,
      },
      tailBufferWindowMs: 0,
      ...(pushed ? { changeFeed: { source: 'pubsub', subscription: demoSubscription } } : {}),
      ...(pace === 'test' ? { digestRetryIntervalMs: 1_000 } : {}),
    },
    env: {},
    steps: steps(run),
    emulator: run,
    stop: () => run.stop(),
  };
}

function seed(run: CloudRunEmulator): void {
  const fleet = run.fleet;
  fleet.deployService(
    demoProject,
    'us-central1',
    'checkout',
    'us-docker.pkg.dev/demo-project-1/shop/checkout:1.4.0',
    {
      silent: true,
    },
  );
  fleet.deployService(demoProject, 'us-central1', 'catalog', 'cgr.dev/chainguard/nginx:latest', {
    silent: true,
  });
  fleet.deployService(
    demoProject,
    'europe-west1',
    'checkout',
    'us-docker.pkg.dev/demo-project-1/shop/checkout:1.4.0',
    {
      silent: true,
    },
  );
  fleet.createJob(
    demoProject,
    'europe-west1',
    'nightly-report',
    'us-docker.pkg.dev/demo-project-1/ops/report:2.0.1',
    {
      silent: true,
    },
  );
}

function steps(run: CloudRunEmulator): DemoStep[] {
  const fleet = run.fleet;
  return [
    (round) => {
      const image = `us-docker.pkg.dev/demo-project-1/shop/checkout:1.${5 + round}.0`;
      fleet.rollService(demoProject, 'us-central1', 'checkout', image);
      return `Cloud Run: rolled us-central1/checkout to ${image}`;
    },
    (round) => {
      const name = `promo-${round}`;
      fleet.deployService(
        demoProject,
        'europe-west1',
        name,
        `us-docker.pkg.dev/demo-project-1/shop/promo:${round}.0.0`,
      );
      return `Cloud Run: deployed europe-west1/${name}`;
    },
    () => {
      fleet.runJob(demoProject, 'europe-west1', 'nightly-report');
      return 'Cloud Run: ran job europe-west1/nightly-report';
    },
    (round) => {
      fleet.deleteService(demoProject, 'europe-west1', `promo-${round}`);
      return `Cloud Run: deleted europe-west1/promo-${round}`;
    },
  ];
}
