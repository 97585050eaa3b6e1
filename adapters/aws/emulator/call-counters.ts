/**
 * Per-action call counters of an AWS emulator: every call received (all outcomes), the throttled
 * ones, and every action ever served or refused (kept across `reset`, for the IAM coverage checks).
 */
export class CallCounters {
  private readonly counts = new Map<string, number>();
  private readonly throttledCounts = new Map<string, number>();
  /** Every action ever served or refused (survives reset, for the IAM coverage check). */
  readonly actionsSeen = new Set<string>();

  count(action: string, outcome: 'ok' | 'throttled' | 'error'): void {
    this.actionsSeen.add(action);
    if (outcome === 'throttled')
      this.throttledCounts.set(action, (this.throttledCounts.get(action) ?? 0) + 1);
    this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
  }
  /** Calls received for `action` (all outcomes). */
  get(action: string): number {
    return this.counts.get(action) ?? 0;
  }
  throttled(action?: string): number {
    if (action !== undefined) return this.throttledCounts.get(action) ?? 0;
    let n = 0;
    for (const v of this.throttledCounts.values()) n += v;
    return n;
  }
  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  byAction(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
  reset(): void {
    this.counts.clear();
    this.throttledCounts.clear();
  }
}
