/**
 * Metric recording for one watch: events by source/kind/type, relists by cause, delivery queue
 * depth, readiness and the permission a denied source lacks. Label children are cached so counting
 * an event costs a map lookup. `kind` is the object's `kind` string field (ClusterObject) or
 * 'object'. No label carries object contents.
 */
import type { Counter, Gauge } from 'prom-client';
import type { CoreMetrics } from '../runtime/metrics.js';
import type { RelistCause, WatchEvent } from './events.js';

type CounterChild = ReturnType<Counter<'source' | 'kind' | 'type'>['labels']>;
type GaugeChild = ReturnType<Gauge<'queue'>['labels']>;

export function kindOf(object: unknown): string {
  if (object !== null && typeof object === 'object') {
    const kind = (object as { kind?: unknown }).kind;
    if (typeof kind === 'string') return kind;
  }
  return 'object';
}

export class WatchMetrics {
  private readonly events = new Map<string, CounterChild>();
  private readonly depth: GaugeChild | undefined;

  constructor(
    private readonly metrics: CoreMetrics | undefined,
    private readonly sourceId: string,
  ) {
    this.depth = metrics?.queueDepth.labels({ queue: sourceId });
    this.depth?.set(0);
  }

  event<T>(event: WatchEvent<T>): void {
    if (!this.metrics) return;
    if (event.type === 'BOOKMARK' || event.type === 'RELIST') return;
    const kind = kindOf(event.object);
    const id = `${kind}\u0000${event.type}`;
    let child = this.events.get(id);
    if (!child) {
      child = this.metrics.watchEvents.labels({ source: this.sourceId, kind, type: event.type });
      this.events.set(id, child);
    }
    child.inc();
  }

  relist(cause: RelistCause): void {
    this.metrics?.relists.inc({ source: this.sourceId, cause });
  }

  queueDepth(n: number): void {
    this.depth?.set(n);
  }

  ready(value: 0 | 1): void {
    this.metrics?.sourceReady.set({ source: this.sourceId }, value);
  }

  /** sightline_source_permission_denied: 1 for the permission now missing, 0 for one that was. */
  denied(permission: string | undefined, previous: string | undefined): void {
    if (!this.metrics) return;
    if (previous !== undefined && previous !== permission)
      this.metrics.permissionDenied.set({ source: this.sourceId, permission: previous }, 0);
    if (permission !== undefined) this.metrics.permissionDenied.set({ source: this.sourceId, permission }, 1);
  }
}
