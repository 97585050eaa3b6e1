/**
 * The cheap poll of a Cloud Run kind source: every key of its steps in a region with a token that
 * changes when the object does, from list calls only (ListServices, ListJobs, ListExecutions with
 * job `-`, ListWorkerPools; no revision list, no Get). Service tokens are
 * etag|generation|digests of the latest created revision|its serving revisions, revision tokens the digests known for it
 * ('unresolved' until one is), job and worker pool tokens etag|generation, execution tokens
 * etag|updateTime; cluster and namespace tokens are their content hashes. The revisions step adds
 * nothing: the services step already names every serving revision.
 *
 * Failure: rejects with the first failing list call (the engine backs off and polls again).
 */
import { objectHash, objectKey } from '../../src/model/index.js';
import type { PollToken } from '../../src/watch/source.js';
import type { KeyNames } from './key-names.js';
import type { ListStep } from './list-token.js';
import type { RunResourceRef } from './names.js';
import { parseResourceName, resourceName, shortName } from './names.js';
import { isCurrentExecution, servingRevisions, timestampMs } from './normalizer.js';
import type { RunObjectBuilder } from './object-builder.js';
import type { ProjectScope } from './project-scope.js';

function digestToken(scope: ProjectScope, revFull: string | null | undefined): string {
  if (!revFull) return '';
  const d = scope.digests.lookup(revFull);
  return d ? d.map((c) => c.digest).join(',') : 'unresolved';
}

/**
 * Adds the tokens of one step in `region` to `out`, each workload's with its full resource name
 * (the engine hands it back when it reads a key its store does not hold).
 */
export async function stepFingerprint(
  step: ListStep,
  region: string,
  scope: ProjectScope,
  names: KeyNames,
  build: RunObjectBuilder,
  out: Map<string, PollToken>,
): Promise<void> {
  const { lister: l, project } = scope;
  const set = (ref: RunResourceRef, token: string): void => {
    const named = names.named(ref);
    out.set(named.key, { token, ref: named.ref });
  };
  switch (step) {
    case 'cluster':
      for (const o of [build.cluster(region), build.namespace(region)]) out.set(objectKey(o), objectHash(o));
      return;
    case 'services':
      for (const s of await l.all((t) => l.services(project, region, t))) {
        const ref: RunResourceRef = { kind: 'service', project, region, name: shortName(s.name ?? '') };
        const serving = servingRevisions(s);
        // A service's images are its serving revisions': a traffic move changes its token too.
        set(
          ref,
          `${s.etag ?? ''}|${String(s.generation ?? '')}|${digestToken(scope, s.latestCreatedRevision)}|${[...serving].sort().join(',')}`,
        );
        for (const rev of serving) {
          const revRef: RunResourceRef = { kind: 'revision', project, region, service: ref.name, name: rev };
          set(revRef, digestToken(scope, resourceName(revRef)));
        }
      }
      return;
    case 'revisions':
      return;
    case 'jobs':
      for (const j of await l.all((t) => l.jobs(project, region, t))) {
        set(
          { kind: 'job', project, region, name: shortName(j.name ?? '') },
          `${j.etag ?? ''}|${String(j.generation ?? '')}`,
        );
      }
      return;
    case 'executions': {
      const now = scope.deps.scheduler.now();
      for (const e of await l.all((t) => l.executions(project, region, t))) {
        const ref = parseResourceName(e.name ?? '');
        if (ref?.kind !== 'execution' || !isCurrentExecution(e, now)) continue;
        set(ref, `${e.etag ?? ''}|${String(timestampMs(e.updateTime) ?? '')}`);
      }
      return;
    }
    case 'workerPools':
      for (const w of await l.all((t) => l.workerPools(project, region, t))) {
        set(
          { kind: 'workerPool', project, region, name: shortName(w.name ?? '') },
          `${w.etag ?? ''}|${String(w.generation ?? '')}`,
        );
      }
      return;
  }
}
