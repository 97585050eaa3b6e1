/**
 * The project's audit feed items -> watch hints for the project source. Gaps and catch-up bookmarks
 * pass through; each entry is mapped (`auditEntryToHints`, counted by outcome), its v1 Revision
 * digests are recorded, and each hint inside the project's regions marks activity for its cluster
 * and is expanded where one read gives the current states: a changed service comes with its state and
 * its serving revisions' states, and revisions the store files under it that no longer serve are
 * reported deleted; a changed job comes with its state and its current executions'; a deleted service
 * or job takes the store's objects filed under it along. Digests resolved later give `changed` hints
 * for the revision and its service.
 *
 * Failure: a failing expansion read is logged and degrades to a plain `changed` hint (the engine
 * reads the key itself); hints are deduplicated per entry.
 */
import type { Hint } from '../../src/watch/source.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { FeedItem } from './audit-source.js';
import type { AuditHint } from './audit-mapper.js';
import { auditEntryToHints } from './audit-mapper.js';
import { PROVIDER } from './call-policy.js';
import type { KeyNames } from './key-names.js';
import type { RunResourceRef } from './names.js';
import { parseResourceName, resourceName } from './names.js';
import { isCurrentExecution, servingRevisions } from './normalizer.js';
import type { RunObjectBuilder } from './object-builder.js';
import type { ProjectScope } from './project-scope.js';

type SourceHint = Hint<ClusterObject>;

function changed(key: string, cursor: string, state?: ClusterObject): SourceHint {
  return state === undefined ? { type: 'changed', key, cursor } : { type: 'changed', key, state, cursor };
}

export class AuditHints {
  constructor(
    private readonly sourceId: string,
    private readonly scope: ProjectScope,
    private readonly names: KeyNames,
    private readonly build: RunObjectBuilder,
  ) {}

  async forItem(item: FeedItem): Promise<SourceHint[]> {
    if (item.kind === 'gap') return [{ type: 'gap', reason: item.reason }];
    if (item.kind === 'caughtUp') return [{ type: 'bookmark', cursor: item.cursor }];
    const { deps, digests, project } = this.scope;
    const m = auditEntryToHints(item.entry);
    deps.metrics.auditEntries.inc({ provider: PROVIDER, outcome: m.outcome });
    if (m.outcome !== 'mapped') {
      deps.logger.debug(
        { source: this.sourceId, outcome: m.outcome, reason: m.reason },
        'audit entry skipped',
      );
    }
    const d = m.revisionDigests;
    if (d && d.project === project) digests.record(d, d.containers);
    const out: SourceHint[] = [];
    const seen = new Set<string>();
    for (const h of m.hints) {
      if (h.target.project !== project || !(await this.scope.inScope(h.target.region))) continue;
      this.scope.activity(h.target.region);
      for (const hint of await this.expand(h, item.cursor)) {
        const id = `${hint.type}/${'key' in hint ? hint.key : ''}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(hint);
      }
    }
    return out;
  }

  /** `changed` hints for a revision whose digest resolved after it was read, and for its service. */
  async forResolvedDigest(revFull: string): Promise<SourceHint[]> {
    const ref = parseResourceName(revFull);
    if (ref?.kind !== 'revision' || ref.project !== this.scope.project) return [];
    if (!(await this.scope.inScope(ref.region))) return [];
    const service: RunResourceRef = {
      kind: 'service',
      project: ref.project,
      region: ref.region,
      name: ref.service,
    };
    return [
      { type: 'changed', key: this.names.keyOf(ref) },
      { type: 'changed', key: this.names.keyOf(service) },
    ];
  }

  private goneWithChildren(parentKey: string, cursor: string): SourceHint[] {
    const out: SourceHint[] = [{ type: 'deleted', key: parentKey, cursor }];
    for (const k of this.names.ownedBy(parentKey)) out.push({ type: 'deleted', key: k, cursor });
    return out;
  }

  private async expand(h: AuditHint, cursor: string): Promise<SourceHint[]> {
    const t = h.target;
    const key = this.names.keyOf(t);
    if (h.type === 'deleted') {
      if (t.kind === 'service' || t.kind === 'job') return this.goneWithChildren(key, cursor);
      if (t.kind === 'revision') this.scope.digests.forget(resourceName(t));
      return [{ type: 'deleted', key, cursor }];
    }
    try {
      if (t.kind === 'service') return await this.expandService(t, key, cursor);
      if (t.kind === 'job') return await this.expandJob(t, key, cursor);
    } catch (err) {
      this.scope.deps.logger.debug(
        { source: this.sourceId, err },
        'hint expansion failed: passing a plain hint',
      );
    }
    return [changed(key, cursor)];
  }

  private async expandService(
    t: RunResourceRef & { kind: 'service' },
    key: string,
    cursor: string,
  ): Promise<SourceHint[]> {
    const lister = this.scope.lister;
    const s = await lister.getService(resourceName(t));
    if (!s) return this.goneWithChildren(key, cursor);
    const out: SourceHint[] = [changed(key, cursor, await this.build.service(t.region, s))];
    const current = new Set<string>();
    for (const rev of servingRevisions(s)) {
      const revRef: RunResourceRef = { ...t, kind: 'revision', service: t.name, name: rev };
      const revKey = this.names.keyOf(revRef);
      current.add(revKey);
      const r = await lister.getRevision(resourceName(revRef));
      out.push(
        r
          ? changed(revKey, cursor, await this.build.revision(t.region, r))
          : { type: 'deleted', key: revKey, cursor },
      );
    }
    for (const k of this.names.ownedBy(key))
      if (!current.has(k)) out.push({ type: 'deleted', key: k, cursor });
    return out;
  }

  private async expandJob(
    t: RunResourceRef & { kind: 'job' },
    key: string,
    cursor: string,
  ): Promise<SourceHint[]> {
    const lister = this.scope.lister;
    const j = await lister.getJob(resourceName(t));
    if (!j) return this.goneWithChildren(key, cursor);
    const out: SourceHint[] = [changed(key, cursor, this.build.job(t.region, j))];
    const execs = await lister.all((tok) => lister.executions(t.project, t.region, tok, t.name));
    const now = this.scope.deps.scheduler.now();
    for (const e of execs) {
      const ref = parseResourceName(e.name ?? '');
      if (ref?.kind !== 'execution' || !isCurrentExecution(e, now)) continue;
      out.push(changed(this.names.keyOf(ref), cursor, this.build.execution(t.region, e)));
    }
    return out;
  }
}
