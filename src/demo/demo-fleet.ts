/**
 * The demo's fleet: what the emulators hold at start (two Cloud Run regions, two ECS clusters) and
 * the scripted changes played every few seconds, cycling through every kind of change the watcher
 * detects: image roll-outs, scaling, scheduler task replacement (invisible to CloudTrail), task
 * stops, service creation and deletion, jobs. Each step returns a one-line description.
 */
import type { Fleet as CloudRunFleet } from '../../adapters/cloudrun/emulator/index.js';
import type { Fleet as EcsFleet } from '../../adapters/ecs/emulator/index.js';

export const demoProject = 'demo-project-1';
export const demoRegions = ['us-central1', 'europe-west1'];
export const demoAccount = '111122223333';
export const demoAwsRegion = 'us-east-1';

export function seedDemoFleet(run: CloudRunFleet, ecs: EcsFleet): void {
  run.deployService(
    demoProject,
    'us-central1',
    'checkout',
    'us-docker.pkg.dev/demo-project-1/shop/checkout:1.4.0',
    { silent: true },
  );
  run.deployService(demoProject, 'us-central1', 'catalog', 'cgr.dev/chainguard/nginx:latest', {
    silent: true,
  });
  run.deployService(
    demoProject,
    'europe-west1',
    'checkout',
    'us-docker.pkg.dev/demo-project-1/shop/checkout:1.4.0',
    { silent: true },
  );
  run.createJob(
    demoProject,
    'europe-west1',
    'nightly-report',
    'us-docker.pkg.dev/demo-project-1/ops/report:2.0.1',
    { silent: true },
  );

  ecs.createCluster({
    name: 'payments',
    capacityProviders: [],
    tags: { team: 'payments', env: 'prod' },
    recordEvent: false,
  });
  ecs.createCluster({ name: 'web', tags: { team: 'web', env: 'prod' }, recordEvent: false });
  for (let i = 0; i < 2; i++)
    ecs.registerContainerInstance({
      cluster: 'payments',
      availabilityZone: `us-east-1${i === 0 ? 'a' : 'b'}`,
      recordEvent: false,
    });
  ecs.registerTaskDefinition({
    family: 'ledger',
    containers: [
      { name: 'ledger', image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/ledger:3.2.0' },
      { name: 'envoy', image: 'cgr.dev/chainguard/envoy:latest' },
    ],
    recordEvent: false,
  });
  ecs.registerTaskDefinition({
    family: 'storefront',
    containers: [{ name: 'web', image: 'cgr.dev/chainguard/nginx:1.27' }],
    recordEvent: false,
  });
  ecs.registerTaskDefinition({
    family: 'api',
    containers: [{ name: 'api', image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/api:7.1.0' }],
    recordEvent: false,
  });
  ecs.createService({
    cluster: 'payments',
    name: 'ledger',
    taskDefinition: 'ledger',
    desiredCount: 2,
    launchType: 'EC2',
    recordEvent: false,
  });
  ecs.createService({
    cluster: 'web',
    name: 'storefront',
    taskDefinition: 'storefront',
    desiredCount: 3,
    launchType: 'FARGATE',
    recordEvent: false,
  });
  ecs.createService({
    cluster: 'web',
    name: 'api',
    taskDefinition: 'api',
    desiredCount: 2,
    launchType: 'FARGATE',
    recordEvent: false,
  });
}

type Step = (run: CloudRunFleet, ecs: EcsFleet, round: number) => string;

const steps: Step[] = [
  (run, _ecs, round) => {
    const image = `us-docker.pkg.dev/demo-project-1/shop/checkout:1.${5 + round}.0`;
    run.rollService(demoProject, 'us-central1', 'checkout', image);
    return `Cloud Run: rolled us-central1/checkout to ${image}`;
  },
  (_run, ecs, round) => {
    const image = `cgr.dev/chainguard/nginx:1.${28 + round}`;
    const td = ecs.registerTaskDefinition({ family: 'storefront', containers: [{ name: 'web', image }] });
    ecs.updateService({ cluster: 'web', service: 'storefront', taskDefinition: `storefront:${td.revision}` });
    return `ECS: web/storefront rolled out ${image} (the scheduler replaced its tasks)`;
  },
  (_run, ecs, round) => {
    const desiredCount = round % 2 === 0 ? 4 : 3;
    ecs.scaleService({ cluster: 'web', service: 'storefront', desiredCount });
    return `ECS: scaled web/storefront to ${desiredCount} tasks`;
  },
  (_run, ecs) => {
    const r = ecs.replaceServiceTasks({ cluster: 'payments', service: 'ledger', count: 1 });
    return `ECS: the scheduler replaced ${r.stopped.length} payments/ledger task (no CloudTrail event)`;
  },
  (run, _ecs, round) => {
    const name = `promo-${round}`;
    run.deployService(
      demoProject,
      'europe-west1',
      name,
      `us-docker.pkg.dev/demo-project-1/shop/promo:${round}.0.0`,
    );
    return `Cloud Run: deployed europe-west1/${name}`;
  },
  (run) => {
    run.runJob(demoProject, 'europe-west1', 'nightly-report');
    return 'Cloud Run: ran job europe-west1/nightly-report';
  },
  (run, _ecs, round) => {
    run.deleteService(demoProject, 'europe-west1', `promo-${round}`);
    return `Cloud Run: deleted europe-west1/promo-${round}`;
  },
  (_run, ecs) => {
    const tasks = ecs.runTask({
      cluster: 'payments',
      taskDefinition: 'ledger',
      startedBy: 'demo-migration',
      launchType: 'EC2',
    });
    return `ECS: ran ${tasks.length} standalone payments task (RunTask in CloudTrail)`;
  },
  (_run, ecs, round) => {
    if (round % 2 === 0) {
      ecs.deleteService({ cluster: 'web', service: 'api' });
      return 'ECS: deleted service web/api';
    }
    ecs.createService({
      cluster: 'web',
      name: 'api',
      taskDefinition: 'api',
      desiredCount: 2,
      launchType: 'FARGATE',
    });
    return 'ECS: recreated service web/api';
  },
];

/** Plays scripted step number `n` (0, 1, 2, …), cycling through the script. */
export function playDemoStep(run: CloudRunFleet, ecs: EcsFleet, n: number): string {
  const step = steps[n % steps.length];
  const round = Math.floor(n / steps.length);
  if (!step) return '';
  try {
    return step(run, ecs, round);
  } catch (err) {
    return `(step skipped: ${err instanceof Error ? err.message : String(err)})`;
  }
}
