/**
 * The whole-daemon benches' fleet: 100,000 ECS tasks (20 clusters × 50 services × 100 tasks, 300
 * task definitions, 200 container instances) and 5,000 Cloud Run revisions (2,500 services with two
 * serving revisions each, 50/50, 5 regions of one project), seeded silently (no audit entries, no
 * events) into emulators the caller started.
 */
import type { CloudRunEmulator } from '../adapters/cloudrun/emulator/index.js';
import type { EcsEmulator } from '../adapters/ecs/emulator/index.js';

export const scaleProject = 'bench-project-1';
export const scaleRegions = ['us-central1', 'europe-west1', 'asia-east1', 'us-east4', 'europe-north1'];
export const scaleServicesPerRegion = 500;
export const scaleEcsFleet = {
  clusters: 20,
  servicesPerCluster: 50,
  tasksPerService: 100,
  taskDefinitions: 300,
  containerInstancesPerCluster: 10,
};

/** `divisor` > 1 seeds a smaller fleet (services per region and clusters divided by it), to try a bench out. */
export function seedScaleFleet(cr: CloudRunEmulator, ecs: EcsEmulator, divisor = 1): void {
  for (const region of scaleRegions) {
    for (let i = 0; i < Math.ceil(scaleServicesPerRegion / divisor); i++) {
      const a = cr.fleet.deployService(
        scaleProject,
        region,
        `svc-${i}`,
        `us-docker.pkg.dev/${scaleProject}/app/svc-${i}:1`,
        { silent: true },
      );
      const b = cr.fleet.rollService(
        scaleProject,
        region,
        `svc-${i}`,
        `us-docker.pkg.dev/${scaleProject}/app/svc-${i}:2`,
        { silent: true },
      );
      cr.fleet.splitTraffic(
        scaleProject,
        region,
        `svc-${i}`,
        [
          { revision: a.revisionShort, percent: 50 },
          { revision: b.revisionShort, percent: 50 },
        ],
        { silent: true },
      );
    }
  }
  ecs.fleet.generate({ ...scaleEcsFleet, clusters: Math.ceil(scaleEcsFleet.clusters / divisor) });
}
