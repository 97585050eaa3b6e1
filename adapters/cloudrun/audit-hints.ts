/**
 * The project's audit feed items -> watch hints for the project source, without reading the
 * provider (the engine's worker does the reads). Gaps and catch-up bookmarks pass through; each
 * entry is mapped (`auditEntryToHints`, counted by outcome), its v1 Revision digests are recorded,
 * and each hint inside the project's regions marks activity for its cluster and becomes: for a
 * service or job (changed or deleted), a `family` hint over the `owner` index (the engine reads it,
 * its serving revisions or current executions, and tombstones what it owned that is gone); for a
 * revision, execution or worker pool, a `changed` or `deleted` hint (a deleted revision's digests
 * are forgotten). Digests resolved later give `changed` hints for the revision and its service.
 * Hints are deduplicated per entry.
 *
 * Failure: rejects only when the project's regions cannot be read (ListLocations, before any list).
 */
import type { Hint } from '../../src/watch/source.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { FeedItem } from './audit-source.js';
import type { AuditHint } from './audit-mapper.js';
import { auditEntryToHints } from './audit-mapper.js';
import { PROVIDER } from './call-policy.js';
import type { KeyNames } from './key-names.js';
import { OWNER_INDEX } from './key-names.js';
import type { RunResourceRef } from './names.js';
import { parseResourceName, resourceName } from './names.js';
import type { ProjectScope } from './project-scope.js';

type SourceHint = Hint<ClusterObject>;

export class AuditHints {
  constructor(
    private readonly sourceId: string,
    private readonly scope: ProjectScope,
    private readonly names: KeyNames,
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
      for (const hint of this.expand(h, item.cursor)) {
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

  private expand(h: AuditHint, cursor: string): SourceHint[] {
    const t = h.target;
    const key = this.names.keyOf(t);
    // A service or job and what it owns are read by the engine's worker (`childKeysOf`).
    if (t.kind === 'service' || t.kind === 'job')
      return [{ type: 'family', key, index: OWNER_INDEX, cursor }];
    if (h.type === 'deleted') {
      if (t.kind === 'revision') this.scope.digests.forget(resourceName(t));
      return [{ type: 'deleted', key, cursor }];
    }
    return [{ type: 'changed', key, cursor }];
  }
}
