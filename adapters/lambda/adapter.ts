/**
 * The Lambda ProviderAdapter: for each configured region one WatchSource (function-source.ts: the
 * region's cluster, its image functions and their published versions) fed by the region's change
 * feed: the shared AWS CloudTrail feed reading `lambda.amazonaws.com` events, or with
 * `changeFeed.source: sqs` Lambda's EventBridge state change events through the shared SQS feed,
 * joined with CloudTrail (aliases and tags send no state change) unless turned off. The
 * ListFunctions cheap poll runs beside either (a slow reconciliation in pushed mode, the fallback
 * when the queue fails or falls silent); `health()` reports each region's queue. `activity$`
 * (LAST SEEN) moves at every successful list, poll and read, per region.
 *
 * Failure: `sources()` never calls the network (credentials are resolved on first use); provider
 * errors surface from the sources' methods. `close()` ends hint streams, completes `activity$` and
 * destroys the SDK clients; it is idempotent.
 */
import type { ClusterObject } from '../../src/model/index.js';
import { ActivityReporter } from '../../src/provider/activity.js';
import type { ProviderAdapter, ProviderDeps } from '../../src/provider/adapter.js';
import type { CheckResult } from '../../src/runtime/health.js';
import type { WatchSource } from '../../src/watch/source.js';
import { CloudTrailFeed } from '../aws/cloudtrail-feed.js';
import { JoinedFeed } from '../aws/joined-feed.js';
import type { RegionFeed } from '../aws/joined-feed.js';
import { SqsFeed } from '../aws/sqs-feed.js';
import { mapCloudTrailEvent } from './audit-mapping.js';
import type { LambdaRef } from './audit-mapping.js';
import { LAMBDA_CALL_POLICY } from './call.js';
import { createRegionClients, destroyRegionClients } from './client.js';
import type { LambdaClientOptions, RegionClients } from './client.js';
import { queueUrlFor } from './config.js';
import type { LambdaConfig } from './config.js';
import { mapLambdaEvent } from './event-mapping.js';
import { FunctionSource } from './function-source.js';
import { CONTROLLER_NAME, RegionContext } from './region.js';

export interface LambdaRegionSources {
  region: string;
  functions: FunctionSource;
  trail: CloudTrailFeed<LambdaRef>;
  queue?: SqsFeed<LambdaRef>;
  context: RegionContext;
}

export interface LambdaAdapter extends ProviderAdapter {
  /** The sources by region (tests, benchmarks, diagnostics). Built on first call. */
  regions(): LambdaRegionSources[];
}

export function createLambdaAdapter(
  config: LambdaConfig,
  deps: ProviderDeps,
  options: LambdaClientOptions = {},
): LambdaAdapter {
  const activity = new ActivityReporter(CONTROLLER_NAME, deps.scheduler);
  let clients: RegionClients[] | undefined;
  let built: LambdaRegionSources[] | undefined;
  let closed = false;

  const regions = (): LambdaRegionSources[] => {
    if (closed) throw new Error('Lambda adapter is closed');
    if (built) return built;
    clients = createRegionClients(config, options);
    built = clients.map((rcClients) => {
      const rc = new RegionContext(config.account, rcClients, deps, activity);
      const trail = new CloudTrailFeed<LambdaRef>(deps, rcClients.cloudTrail, {
        account: config.account,
        region: rc.region,
        provider: 'LAMBDA',
        eventSource: 'lambda.amazonaws.com',
        settings: config.cloudTrail,
        policy: LAMBDA_CALL_POLICY,
        map: (raw) => mapCloudTrailEvent(raw, rc.region),
      });
      const queueUrl = queueUrlFor(config, rc.region);
      const queue =
        rcClients.sqs !== undefined && queueUrl !== undefined
          ? new SqsFeed<LambdaRef>(deps, rcClients.sqs, {
              name: `lambda/${rc.region}`,
              queueUrl,
              policy: LAMBDA_CALL_POLICY,
              map: (e) => mapLambdaEvent(e, rc.region),
              watchdogMs: config.changeFeed.watchdogMs,
              silenceMs: config.changeFeed.silenceMs,
            })
          : undefined;
      const feed: RegionFeed<LambdaRef> =
        queue !== undefined ? new JoinedFeed(queue, config.changeFeed.cloudTrail ? trail : undefined) : trail;
      const functions = new FunctionSource(
        rc,
        feed,
        config.functionPollIntervalMs,
        queue !== undefined
          ? {
              reconcileIntervalMs: config.changeFeed.reconcileIntervalMs,
              fallback: () => queue.fallback,
              reconciled: (n) => queue.reconciled(n),
            }
          : undefined,
      );
      return { region: rc.region, functions, trail, context: rc, ...(queue !== undefined ? { queue } : {}) };
    });
    return built;
  };

  return {
    provider: 'LAMBDA',
    activity$: activity.activity$,
    regions,
    sources(): Promise<WatchSource<ClusterObject>[]> {
      try {
        return Promise.resolve(regions().map((r) => r.functions));
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
        r.trail.close();
        r.queue?.close();
      }
      activity.close();
      if (clients) destroyRegionClients(clients);
      return Promise.resolve();
    },
  };
}
