/**
 * The ECS adapter's CloudTrail feed of one (account, region): the shared AWS CloudTrail feed
 * (adapters/aws/cloudtrail-feed.ts) reading `ecs.amazonaws.com` events, each mapped to the ECS
 * objects it touches (audit-mapping.ts). Its contract (windows, overlap, dedupe, pacing, gaps,
 * failures) is the shared feed's; every ECS source of the region subscribes to this one feed.
 */
import type { EcsConfig } from './config.js';
import { CloudTrailFeed } from '../aws/cloudtrail-feed.js';
import { mapCloudTrailEvent } from './audit-mapping.js';
import type { AuditRef } from './audit-mapping.js';
import { ECS_CALL_POLICY } from './call.js';
import type { RegionContext } from './region.js';

export type AuditFeed = CloudTrailFeed<AuditRef>;

export function createAuditFeed(rc: RegionContext, settings: EcsConfig['cloudTrail']): AuditFeed {
  return new CloudTrailFeed<AuditRef>(rc.deps, rc.clients.cloudTrail, {
    account: rc.account,
    region: rc.region,
    provider: 'ECS',
    eventSource: 'ecs.amazonaws.com',
    settings,
    policy: ECS_CALL_POLICY,
    map: (raw) => mapCloudTrailEvent(raw, rc.region, rc.account),
  });
}
