/**
 * The kinds one Cloud Run project is watched as, one watch source each
 * (`cloudrun/<project>/<name>`): what each lists per region (its steps, in order), and which audit
 * targets its hints come from. A family (a service and its serving revisions, a job and its current
 * executions) stays in one source, so the engine's family expansion reads parent and children in
 * one round; kinds fail on their own (a denied `run.workerpools.list` leaves services and jobs
 * watched). `clusters` makes no API call (but ListLocations for `regions: all`).
 */
import type { ListStep } from './list-token.js';
import type { RunResourceRef } from './names.js';

export type RunKindName = 'clusters' | 'services' | 'jobs' | 'workerpools';

export interface RunKind {
  readonly name: RunKindName;
  readonly steps: readonly ListStep[];
  /** The audit targets whose changes this kind's hints carry. */
  readonly targets: ReadonlySet<RunResourceRef['kind']>;
}

export const RUN_KINDS: readonly RunKind[] = [
  { name: 'clusters', steps: ['cluster'], targets: new Set() },
  { name: 'services', steps: ['services', 'revisions'], targets: new Set(['service', 'revision']) },
  { name: 'jobs', steps: ['jobs', 'executions'], targets: new Set(['job', 'execution']) },
  { name: 'workerpools', steps: ['workerPools'], targets: new Set(['workerPool']) },
];
