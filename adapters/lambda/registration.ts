/**
 * Lambda's registration with sightline (src/provider/registration.ts): the `providers.lambda`
 * config section with its static-key secrets (and the assume-role external id, kept out of logs),
 * the Lambda, CloudTrail and SQS API limits, the IAM policy, the adapter, and its demo part (loaded
 * on demand).
 */
import { defineProvider } from '../../src/provider/registration.js';
import { CLOUDTRAIL_BUCKETS, SQS_BUCKETS } from '../aws/limits.js';
import { lambdaDefaults, lambdaSchema } from './config.js';
import type { LambdaDemo } from './demo.js';
import { LAMBDA_BUCKETS } from './limits.js';

export const lambda = defineProvider({
  id: 'lambda',
  configSchema: lambdaSchema,
  defaults: lambdaDefaults,
  limits: { ...LAMBDA_BUCKETS, ...CLOUDTRAIL_BUCKETS, ...SQS_BUCKETS },
  secretPaths: [
    ['credentials', 'accessKeyId'],
    ['credentials', 'secretAccessKey'],
    ['credentials', 'sessionToken'],
  ],
  redactedFields: ['externalId'],
  iamDoc: 'config/iam/lambda-policy.json',
  create: async (config, deps) => (await import('./adapter.js')).createLambdaAdapter(config, deps),
  summary: (config) =>
    `account ${config.account}, regions ${config.regions.join(',')}, credentials ${config.credentials.source}, changes ${config.changeFeed.source}`,
  demo: (pace, feeds): Promise<LambdaDemo> => import('./demo.js').then((m) => m.startLambdaDemo(pace, feeds)),
});
