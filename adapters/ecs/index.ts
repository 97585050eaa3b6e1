/**
 * AWS ECS adapter of sightline (see README.md): `createEcsAdapter(config, deps)` gives the daemon
 * its watch sources and LAST SEEN activity.
 */
export { createEcsAdapter } from './adapter.js';
export type { EcsAdapter, EcsRegionSources } from './adapter.js';
export type { EcsClientOptions } from './client.js';
export { CONTROLLER_NAME } from './region.js';
export { TASKDEF_CACHE_NAMESPACE } from './task-definitions.js';
