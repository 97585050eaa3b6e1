/**
 * The Lambda/CloudTrail wire-level emulator (tests, benchmarks, the demo): see server.ts.
 */
export { startLambdaEmulator } from './server.js';
export type { LambdaEmulator, LambdaEmulatorOptions } from './server.js';
export { LambdaFleet, FleetError, digestOf, functionNameOf } from './fleet.js';
export type { EmuFunction, EmuVersion, EmuAlias, GenerateInput, FunctionObserver } from './fleet.js';
export { LambdaEventPublisher, LAMBDA_STATE_CHANGE } from './eventbridge.js';
