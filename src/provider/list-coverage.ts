/**
 * Which change-feed entries a completed list already covered, told by the provider's own clock, so
 * a source can skip re-reading them (a fresh start's catch-up re-delivers the entries logged just
 * before the list: its cursor is taken early, on purpose, because feeds deliver late).
 *
 * A list reads its pages one after another. Every provider time a page shows (an object's update,
 * creation or condition-transition time) is earlier than the moment the page was read, so the
 * newest provider time on the pages read so far is a lower bound of when every later page was read.
 * `page(scope, newestMs)` records, for each scope (e.g. a region), that bound at its FIRST page: the
 * earliest read of the scope, whatever step or page a given object is on. `completed()` publishes
 * the bounds of the list (bounds only grow: a later list read later). An entry stamped before a
 * scope's bound by more than `marginMs` describes a change that every page of that scope already
 * showed: `covers(scope, entryMs)` is true.
 *
 * The margin absorbs that an entry's stamp can precede the change it logs (a synchronous request is
 * stamped on arrival, its change committed after: 143 ms in the CloudRun CreateService sample) and
 * any skew between the provider's clocks. Only provider times are compared, never this process's
 * clock. A list that does not complete (`started()` again) publishes nothing; a scope whose first
 * page came before any provider time was seen gets no bound from that list.
 *
 * Failure: none; a non-finite time is ignored.
 */
export class ListCoverage {
  private readonly published = new Map<string, number>();
  /** Bounds of the list being read; undefined: its first page came before any provider time. */
  private pending = new Map<string, number | undefined>();
  private newestMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly marginMs: number) {}

  /** A list starts (or restarts): what an unfinished one recorded is dropped. */
  started(): void {
    this.pending = new Map();
    this.newestMs = Number.NEGATIVE_INFINITY;
  }

  /** A page of `scope` was read; `newestMs` is the newest provider time it showed (if any). */
  page(scope: string, newestMs: number | undefined): void {
    if (newestMs !== undefined && Number.isFinite(newestMs))
      this.newestMs = Math.max(this.newestMs, newestMs);
    if (!this.pending.has(scope))
      this.pending.set(scope, Number.isFinite(this.newestMs) ? this.newestMs : undefined);
  }

  /** The list completed: its bounds apply to the entries that follow. */
  completed(): void {
    for (const [scope, boundMs] of this.pending)
      if (boundMs !== undefined)
        this.published.set(scope, Math.max(this.published.get(scope) ?? boundMs, boundMs));
    this.started();
  }

  /** Whether an entry of `scope` stamped `entryMs` (provider time) is covered by a completed list. */
  covers(scope: string, entryMs: number | undefined): boolean {
    const boundMs = this.published.get(scope);
    return boundMs !== undefined && entryMs !== undefined && entryMs < boundMs - this.marginMs;
  }
}
