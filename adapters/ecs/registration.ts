/**
 * ECS's registration with sightline (src/provider/registration.ts): the `providers.ecs` config
 * section with its static-key secrets (and the assume-role external id, kept out of logs), the ECS
 * and CloudTrail API limits, the IAM policy, the adapter, and its demo part (loaded on demand).
 */
import { defineProvider } from '../../src/provider/registration.js';
import type { EcsDemo } from './demo.js';
import { ecsDefaults, ecsSchema } from './config.js';
import { CLOUDTRAIL_BUCKETS, SQS_BUCKETS } from '../aws/limits.js';
import { ECS_BUCKETS } from './limits.js';

export const ecs = defineProvider({
  id: 'ecs',
  configSchema: ecsSchema,
  defaults: ecsDefaults,
  limits: { ...ECS_BUCKETS, ...CLOUDTRAIL_BUCKETS, ...SQS_BUCKETS },
  secretPaths: [
    ['credentials', 'accessKeyId'],
    ['credentials', 'secretAccessKey'],
    ['credentials', 'sessionToken'],
  ],
  redactedFields: ['externalId'],
  iamDoc: 'config/iam/ecs-policy.json',
  create: async (config, deps) => (await import('./adapter.js')).createEcsAdapter(config, deps),
  summary: (config) =>
    `account ${config.account}, regions ${config.regions.join(',')}, credentials ${config.credentials.source}`,
  demo: (pace, feeds): Promise<EcsDemo> => import('./demo.js').then((m) => m.startEcsDemo(pace, feeds)),
});
