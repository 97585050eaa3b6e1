/**
 * Cloud Run's registration with sightline (src/provider/registration.ts): the `providers.cloudRun`
 * config section, the Admin and Logging API limits, the key file `validate` checks, the
 * adapter, and its demo part (loaded on demand).
 */
import { defineProvider } from '../../src/provider/registration.js';
import type { CloudRunDemo } from './demo.js';
import { cloudRunDefaults, cloudRunSchema } from './config.js';
import { CLOUD_RUN_BUCKETS } from './limits.js';

export const cloudRun = defineProvider({
  id: 'cloudRun',
  configSchema: cloudRunSchema,
  defaults: cloudRunDefaults,
  limits: CLOUD_RUN_BUCKETS,
  secretPaths: [],
  iamDoc: 'adapters/cloudrun/README.md',
  create: async (config, deps) => (await import('./adapter.js')).createCloudRunAdapter(config, deps),
  summary: (config) =>
    `${config.projects.length} project(s), regions ${config.regions === 'all' ? 'all' : config.regions.join(',')}`,
  files: {
    resolve: (config, absolute) =>
      config.credentials.source === 'keyFile'
        ? {
            ...config,
            credentials: { source: 'keyFile' as const, keyFile: absolute(config.credentials.keyFile) },
          }
        : config,
    list: (config) =>
      config.credentials.source === 'keyFile'
        ? [{ field: 'credentials.keyFile', file: config.credentials.keyFile }]
        : [],
  },
  demo: (pace, feeds): Promise<CloudRunDemo> =>
    import('./demo.js').then((m) => m.startCloudRunDemo(pace, process.env[m.DEMO_FEED_ENV], feeds)),
});
