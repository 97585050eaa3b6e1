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
 * The clients, the queue, `sources()`, `health()` and `close()` are every AWS adapter's
 * (adapters/aws/adapter-wiring.ts).
 *
 * Failure: `sources()` never calls the network (credentials are resolved on first use); provider
 * errors surface from the sources' methods. `close()` ends hint streams, completes `activity$` and
 * destroys the SDK clients; it is idempotent.
 */
import { ActivityReporter } from '../../src/provider/activity.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import { createAwsAdapter } from '../aws/adapter-wiring.js';
import type { AwsAdapter } from '../aws/adapter-wiring.js';
import { CloudTrailFeed } from '../aws/cloudtrail-feed.js';
import { JoinedFeed } from '../aws/joined-feed.js';
import type { RegionFeed } from '../aws/joined-feed.js';
import type { SqsFeed } from '../aws/sqs-feed.js';
import { mapCloudTrailEvent } from './audit-mapping.js';
import type { LambdaRef } from './audit-mapping.js';
import { LAMBDA_CALL_POLICY } from './call.js';
import { createRegionClients, destroyRegionClients } from './client.js';
import type { LambdaClientOptions } from './client.js';
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

export type LambdaAdapter = AwsAdapter<LambdaRegionSources>;

export function createLambdaAdapter(
  config: LambdaConfig,
  deps: ProviderDeps,
  options: LambdaClientOptions = {},
): LambdaAdapter {
  const activity = new ActivityReporter(CONTROLLER_NAME, deps.scheduler);
  return createAwsAdapter({
    provider: 'LAMBDA',
    name: 'Lambda',
    config,
    deps,
    activity,
    createClients: () => createRegionClients(config, options),
    destroyClients: destroyRegionClients,
    queue: { name: 'lambda', policy: LAMBDA_CALL_POLICY, map: mapLambdaEvent },
    buildRegion: (rcClients, queue): LambdaRegionSources => {
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
      const feed: RegionFeed<LambdaRef> =
        queue !== undefined
          ? new JoinedFeed(queue.feed, config.changeFeed.cloudTrail ? trail : undefined)
          : trail;
      const functions = new FunctionSource(rc, feed, config.functionPollIntervalMs, queue?.reconciliation);
      return {
        region: rc.region,
        functions,
        trail,
        context: rc,
        ...(queue !== undefined ? { queue: queue.feed } : {}),
      };
    },
    sourcesOf: (r) => [r.functions],
    closeRegion: (r) => r.trail.close(),
  });
}
