/**
 * The project's audit feed items -> watch hints for one kind source, without reading the provider
 * (the engine's worker does the reads). Gaps and catch-up bookmarks pass through; of each entry's
 * mapping (made, counted and its digests recorded once by the feed), the hints on the source's
 * targets inside the project's regions mark activity for their cluster and become: for a
 * service or job (changed or deleted), a `family` hint over the `owner` index (the engine reads it,
 * its serving revisions or current executions, and tombstones what it owned that is gone); for a
 * revision, execution or worker pool, a `changed` or `deleted` hint (a deleted revision's digests
 * are forgotten). Digests resolved later give `changed` hints for the revision and its service.
 * Hints are deduplicated per entry. An entry stamped before what the source's last completed list
 * showed in its region (`HintCoverage`) gives no hint (counted); its side effects (activity, a
 * deleted revision's digests forgotten) still happen.
 *
 * Failure: rejects only when the project's regions cannot be read (ListLocations, before any list).
 */
import type { Hint } from '../../src/watch/source.js';
import type { ClusterObject } from '../../src/model/index.js';
import type { FeedItem } from './audit-source.js';
import type { AuditHint, AuditMapping } from './audit-mapper.js';
import type { KeyNames } from './key-names.js';
import { OWNER_INDEX } from './key-names.js';
import type { RunResourceRef } from './names.js';
import { parseResourceName, resourceName } from './names.js';
import { timestampToMs } from './log-cursor.js';
import type { ProjectScope } from './project-scope.js';

type SourceHint = Hint<ClusterObject>;

/** What a completed list already showed (see ListCoverage), and where skipped hints are counted. */
export interface HintCoverage {
  covers(region: string, entryMs: number | undefined): boolean;
  skipped(): void;
}

export class AuditHints {
  constructor(
    private readonly scope: ProjectScope,
    private readonly names: KeyNames,
    private readonly targets: ReadonlySet<RunResourceRef['kind']>,
    private readonly coverage: HintCoverage,
  ) {}

  /** Whether `m` has a hint on one of this source's targets (the feed's filter). */
  wants(m: AuditMapping): boolean {
    return m.hints.some((h) => this.targets.has(h.target.kind));
  }

  async forItem(item: FeedItem): Promise<SourceHint[]> {
    if (item.kind === 'gap') return [{ type: 'gap', reason: item.reason }];
    if (item.kind === 'caughtUp') return [{ type: 'bookmark', cursor: item.cursor }];
    const { project } = this.scope;
    const out: SourceHint[] = [];
    const seen = new Set<string>();
    const entryMs = timestampToMs(item.timestamp);
    for (const h of item.mapping.hints) {
      if (!this.targets.has(h.target.kind)) continue;
      if (h.target.project !== project || !(await this.scope.inScope(h.target.region))) continue;
      this.scope.activity(h.target.region);
      const hints = this.expand(h, item.cursor);
      if (this.coverage.covers(h.target.region, entryMs)) {
        this.coverage.skipped();
        continue;
      }
      for (const hint of hints) {
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
      { type: 'changed', ...this.names.named(ref) },
      { type: 'changed', ...this.names.named(service) },
    ];
  }

  private expand(h: AuditHint, cursor: string): SourceHint[] {
    const t = h.target;
    // The key with the resource's name: the store may not hold it yet (see KeyNames).
    const { key, ref } = this.names.named(t);
    // A service or job and what it owns are read by the engine's worker (`childKeysOf`).
    if (t.kind === 'service' || t.kind === 'job')
      return [{ type: 'family', key, index: OWNER_INDEX, cursor, ref }];
    if (h.type === 'deleted') {
      if (t.kind === 'revision') this.scope.digests.forget(resourceName(t));
      return [{ type: 'deleted', key, cursor, ref }];
    }
    return [{ type: 'changed', key, cursor, ref }];
  }
}
