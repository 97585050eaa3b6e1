/**
 * Prometheus metrics (prom-client). One Registry per process (tests make their own). The core
 * metrics every component reports into are created here so names and labels stay consistent;
 * components with metrics of their own use `counter/gauge/histogram`, which return the existing
 * metric when one of that name is registered already. No label ever carries a secret.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

export function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

/** The metrics named in the foundation issue, shared by every component. */
export class CoreMetrics {
  readonly apiCalls: Counter<'provider' | 'operation' | 'outcome'>;
  readonly watchEvents: Counter<'source' | 'kind' | 'type'>;
  readonly relists: Counter<'source' | 'cause'>;
  readonly auditEntries: Counter<'provider' | 'outcome'>;
  readonly consolePush: Counter<'rpc' | 'outcome'>;
  readonly queueDepth: Gauge<'queue'>;
  readonly budgetWaitMs: Counter<'bucket'>;
  readonly sourceReady: Gauge<'source'>;
  readonly permissionDenied: Gauge<'source' | 'permission'>;
  readonly unresolvedDigests: Counter<'provider' | 'reason'>;
  readonly hintsSkipped: Counter<'source' | 'reason'>;
  readonly changeFeedFallback: Gauge<'feed'>;
  readonly changeFeedMessages: Counter<'feed' | 'outcome'>;

  constructor(readonly registry: Registry) {
    this.apiCalls = counter(registry, 'sightline_api_calls_total', 'Provider API calls', [
      'provider',
      'operation',
      'outcome',
    ]);
    this.watchEvents = counter(registry, 'sightline_watch_events_total', 'Watch events emitted', [
      'source',
      'kind',
      'type',
    ]);
    this.relists = counter(registry, 'sightline_relists_total', 'Relists by cause', ['source', 'cause']);
    this.auditEntries = counter(
      registry,
      'sightline_audit_entries_total',
      'Audit-log entries read, by outcome',
      ['provider', 'outcome'],
    );
    this.consolePush = counter(registry, 'sightline_console_push_total', 'Console RPCs by outcome', [
      'rpc',
      'outcome',
    ]);
    this.queueDepth = gauge(registry, 'sightline_queue_depth', 'Pending items per queue', ['queue']);
    this.budgetWaitMs = counter(
      registry,
      'sightline_budget_wait_ms_total',
      'Milliseconds calls waited for API budget (interval stretch)',
      ['bucket'],
    );
    this.sourceReady = gauge(registry, 'sightline_source_ready', '1 once a source completed its first list', [
      'source',
    ]);
    this.permissionDenied = gauge(
      registry,
      'sightline_source_permission_denied',
      '1 while a source cannot list for lack of the named permission, 0 once it lists again',
      ['source', 'permission'],
    );
    this.unresolvedDigests = counter(
      registry,
      'sightline_unresolved_digests_total',
      'Image sightings without a resolved digest',
      ['provider', 'reason'],
    );
    this.hintsSkipped = counter(
      registry,
      'sightline_hints_skipped_total',
      'Change-feed hints dropped without a read, by reason (covered_by_list: the last list already showed them)',
      ['source', 'reason'],
    );
    this.changeFeedFallback = gauge(
      registry,
      'sightline_change_feed_fallback',
      '1 while a pushed change feed (SQS, Pub/Sub) is failing or silent and its sources poll instead, 0 while it delivers',
      ['feed'],
    );
    this.changeFeedMessages = counter(
      registry,
      'sightline_change_feed_messages_total',
      'Pushed change-feed messages by outcome (mapped, duplicate, stale, ignored, unparseable, foreign, acked)',
      ['feed', 'outcome'],
    );
  }
}

export function createRegistry(withDefaults = true): Registry {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'sightline_' });
  return registry;
}
