/**
 * What the Lambda source of one (account, region) reads with: the SDK clients, the normalization
 * context, the cluster id, the activity (LAST SEEN) sink, and the counts of what it skipped (zip
 * functions: only container images are watched).
 */
import type { ActivityReporter } from '../../src/provider/activity.js';
import type { ProviderDeps } from '../../src/provider/adapter.js';
import type { RegionClients } from './client.js';
import { lambdaClusterId } from './keys.js';
import type { NormalizeContext } from './normalizer.js';

export const CONTROLLER_NAME = 'sightline-lambda';

export class RegionContext {
  readonly ctx: NormalizeContext;
  readonly clusterId: string;
  /** Zip functions seen by the last complete listing (counted and skipped). */
  zipFunctions = 0;

  constructor(
    readonly account: string,
    readonly clients: RegionClients,
    readonly deps: ProviderDeps,
    private readonly activity: ActivityReporter,
  ) {
    this.ctx = { account, region: clients.region, tenant: deps.tenant, agentVersion: deps.agentVersion };
    this.clusterId = lambdaClusterId(account, clients.region);
  }

  get region(): string {
    return this.clients.region;
  }

  /** Source id prefix: `lambda/<account>/<region>`. */
  get idPrefix(): string {
    return `lambda/${this.account}/${this.region}`;
  }

  /** LAST SEEN: a successful region-wide poll or an observed change. */
  touch(): void {
    this.activity.touch(this.clusterId);
  }
}
