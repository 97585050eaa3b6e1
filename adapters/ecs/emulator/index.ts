/**
 * The ECS/CloudTrail/STS wire-level emulator (for tests, benchmarks and the demo): see server.ts.
 */
export { startEcsEmulator, CallCounters } from './server.js';
export type { EcsEmulator, EcsEmulatorOptions } from './server.js';
export { Fleet, STOPPED_TASK_RETENTION_MS } from './fleet.js';
export type {
  EmuCluster,
  EmuService,
  EmuTask,
  EmuContainerInstance,
  EmuTaskDefinition,
  GenerateInput,
  CreateServiceInput,
} from './fleet.js';
export { Faults } from './faults.js';
export { CloudTrailLog } from './cloudtrail-log.js';
export { StsEmulator } from './sts.js';
export { AWS_BUCKET_FIGURES, ACTION_BUCKET } from './throttle.js';
export { EventBridgePublisher } from './eventbridge.js';
export type { EventBridgeOptions } from './eventbridge.js';
export type { FleetObserver } from './fleet.js';
