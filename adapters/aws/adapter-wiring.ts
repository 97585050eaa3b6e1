/**
 * The wiring every AWS ProviderAdapter shares (ECS's, Lambda's): on the first `regions()` call, the
 * SDK clients of every configured region and, in pushed mode (a queue URL and an SQS client for the
 * region), the region's events queue as an `SqsFeed` (named `<queue.name>/<region>`, mapped by the
 * provider), with the reconciliation its poll reports to; the provider builds its region's sources
 * over them. Around them the `ProviderAdapter`: `sources()` (every region's), `health()` in pushed
 * mode (each region's queue), `close()`.
 *
 * Failure: `sources()` never calls the network (credentials are resolved on first use) and
 * rejects once the adapter is closed. `close()` closes each region (its queue, then what the
 * provider closes), completes `activity$` and destroys the SDK clients; it is idempotent.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ClusterObject, Provider } from '../../src/model/index.js';
import type { ActivityReporter } from '../../src/provider/activity.js';
import type { ProviderAdapter, ProviderDeps } from '../../src/provider/adapter.js';
import type { ApiCallPolicy } from '../../src/provider/api-call.js';
import type { CheckResult } from '../../src/runtime/health.js';
import type { WatchSource } from '../../src/watch/source.js';
import { queueUrlFor } from './config.js';
import type { AwsChangeFeedConfig } from './config.js';
import { SqsFeed } from './sqs-feed.js';
import type { EventBridgeEvent, MappedFeedEvent } from './sqs-feed.js';

/** Pushed mode: what a provider's poll, turned into a slow reconciliation, reads and reports. */
export interface PushedReconciliation {
  readonly reconcileIntervalMs: number;
  /** True while the queue fails or is silent (poll at the normal interval). */
  fallback(): boolean;
  /** A reconciliation found `changes` the queue did not deliver. */
  reconciled(changes: number): void;
}

/** A region's events queue and the reconciliation over it (pushed mode). */
export interface RegionQueue<Ref> {
  feed: SqsFeed<Ref>;
  reconciliation: PushedReconciliation;
}

/** What the wiring needs of a provider's built region. */
export interface AwsRegionSources<Ref> {
  region: string;
  queue?: SqsFeed<Ref>;
}

export interface AwsAdapterSpec<Clients extends { region: string; sqs?: SQSClient }, Ref, R> {
  provider: Provider;
  /** Names the adapter in the error of a call after `close()` (`ECS`, `Lambda`). */
  name: string;
  config: { changeFeed: AwsChangeFeedConfig };
  deps: ProviderDeps;
  activity: ActivityReporter;
  createClients(): Clients[];
  destroyClients(clients: Clients[]): void;
  /** The queue's name prefix in logs and metrics (`ecs`: `ecs/<region>`), call policy and event mapping. */
  queue: {
    name: string;
    policy: ApiCallPolicy;
    map(event: EventBridgeEvent, region: string): MappedFeedEvent<Ref>;
  };
  /** The provider's sources of one region over its clients (and its queue in pushed mode). */
  buildRegion(clients: Clients, queue: RegionQueue<Ref> | undefined): R;
  sourcesOf(region: R): WatchSource<ClusterObject>[];
  /** Closes what the provider built for the region (its queue is closed by the wiring). */
  closeRegion(region: R): void;
}

export interface AwsAdapter<R> extends ProviderAdapter {
  /** The sources by region (tests, benchmarks, diagnostics). Built on first call. */
  regions(): R[];
}

export function createAwsAdapter<
  Clients extends { region: string; sqs?: SQSClient },
  Ref,
  R extends AwsRegionSources<Ref>,
>(spec: AwsAdapterSpec<Clients, Ref, R>): AwsAdapter<R> {
  const { config, deps, activity } = spec;
  let clients: Clients[] | undefined;
  let built: R[] | undefined;
  let closed = false;

  const queueOf = (rcClients: Clients): RegionQueue<Ref> | undefined => {
    const region = rcClients.region;
    const queueUrl = queueUrlFor(config, region);
    if (rcClients.sqs === undefined || queueUrl === undefined) return undefined;
    const feed = new SqsFeed<Ref>(deps, rcClients.sqs, {
      name: `${spec.queue.name}/${region}`,
      queueUrl,
      policy: spec.queue.policy,
      map: (e) => spec.queue.map(e, region),
      watchdogMs: config.changeFeed.watchdogMs,
      silenceMs: config.changeFeed.silenceMs,
    });
    return {
      feed,
      reconciliation: {
        reconcileIntervalMs: config.changeFeed.reconcileIntervalMs,
        fallback: () => feed.fallback,
        reconciled: (n) => feed.reconciled(n),
      },
    };
  };

  const regions = (): R[] => {
    if (closed) throw new Error(`${spec.name} adapter is closed`);
    if (built) return built;
    clients = spec.createClients();
    built = clients.map((rcClients) => spec.buildRegion(rcClients, queueOf(rcClients)));
    return built;
  };

  return {
    provider: spec.provider,
    activity$: activity.activity$,
    regions,
    sources(): Promise<WatchSource<ClusterObject>[]> {
      try {
        return Promise.resolve(regions().flatMap((r) => spec.sourcesOf(r)));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    ...(config.changeFeed.source === 'sqs'
      ? {
          health(): CheckResult {
            const feeds = (built ?? []).flatMap((r) =>
              r.queue !== undefined ? [r.queue.health().detail] : [],
            );
            return { ok: true, detail: { feeds } };
          },
        }
      : {}),
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      for (const r of built ?? []) {
        spec.closeRegion(r);
        r.queue?.close();
      }
      activity.close();
      if (clients) spec.destroyClients(clients);
      return Promise.resolve();
    },
  };
}
