/**
 * The AWS Lambda (container-image functions) adapter: see adapter.ts and README.md.
 */
export { createLambdaAdapter } from './adapter.js';
export type { LambdaAdapter, LambdaRegionSources } from './adapter.js';
export { lambdaSchema, lambdaDefaults } from './config.js';
export type { LambdaConfig } from './config.js';
export { LAMBDA_BUCKETS, LAMBDA_OPERATIONS, lambdaBucketFor } from './limits.js';
