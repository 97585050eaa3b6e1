/**
 * The ECS/CloudTrail/STS wire-level emulator (for tests, benchmarks and the demo): see server.ts.
 */
export { startEcsEmulator } from './server.js';
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
export { StsEmulator } from './sts.js';
export { EventBridgePublisher } from './eventbridge.js';
export type { EventBridgeOptions } from './eventbridge.js';
export type { FleetObserver } from './fleet.js';
