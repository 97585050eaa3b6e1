/**
 * Google Cloud Run provider adapter (see README.md): `createCloudRunAdapter` for the daemon, the
 * pure audit mapper for tests and tools. The wire-level emulator lives in ./emulator (not imported
 * here, so production code does not load it).
 */
export { createCloudRunAdapter } from './adapter.js';
export { auditEntryToHints } from './audit-mapper.js';
export type { AuditHint, AuditMapping, AuditOutcome, RevisionDigests } from './audit-mapper.js';
export { CONTROLLER_NAME } from './kind-source.js';
export { cloudRunClusterId, workloadKey } from './normalizer.js';
