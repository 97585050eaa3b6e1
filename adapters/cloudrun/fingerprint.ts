/**
 * The cheap poll of a Cloud Run project: every key of the scope with a token that changes when the
 * object does, from list calls only (ListServices, ListJobs, ListExecutions with job `-`,
 * ListWorkerPools per region; no revision list, no Get). Service tokens are etag|generation|digests of
 * the latest created revision, revision tokens the digests known for it ('unresolved' until one is),
 * job and worker pool tokens etag|generation, execution tokens etag|updateTime; cluster and namespace
 * tokens are their content hashes. Marks activity for each region it finished.
 *
 * Failure: rejects with the first failing list call (the engine backs off and polls again).
 */
import { objectHash, objectKey } from '../../src/model/index.js';
import type { KeyNames } from './key-names.js';
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

export async function projectFingerprint(
  scope: ProjectScope,
  names: KeyNames,
  build: RunObjectBuilder,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const { lister: l, project } = scope;
  const now = scope.deps.scheduler.now();
  for (const region of await scope.regions()) {
    for (const o of [build.cluster(region), build.namespace(region)]) out.set(objectKey(o), objectHash(o));
    for (const s of await l.all((t) => l.services(project, region, t))) {
      const ref: RunResourceRef = { kind: 'service', project, region, name: shortName(s.name ?? '') };
      out.set(
        names.keyOf(ref),
        `${s.etag ?? ''}|${String(s.generation ?? '')}|${digestToken(scope, s.latestCreatedRevision)}`,
      );
      for (const rev of servingRevisions(s)) {
        const revRef: RunResourceRef = { kind: 'revision', project, region, service: ref.name, name: rev };
        out.set(names.keyOf(revRef), digestToken(scope, resourceName(revRef)));
      }
    }
    for (const j of await l.all((t) => l.jobs(project, region, t))) {
      out.set(
        names.keyOf({ kind: 'job', project, region, name: shortName(j.name ?? '') }),
        `${j.etag ?? ''}|${String(j.generation ?? '')}`,
      );
    }
    for (const e of await l.all((t) => l.executions(project, region, t))) {
      const ref = parseResourceName(e.name ?? '');
      if (ref?.kind !== 'execution' || !isCurrentExecution(e, now)) continue;
      out.set(names.keyOf(ref), `${e.etag ?? ''}|${String(timestampMs(e.updateTime) ?? '')}`);
    }
    for (const w of await l.all((t) => l.workerPools(project, region, t))) {
      out.set(
        names.keyOf({ kind: 'workerPool', project, region, name: shortName(w.name ?? '') }),
        `${w.etag ?? ''}|${String(w.generation ?? '')}`,
      );
    }
    scope.activity(region);
  }
  return out;
}
