/**
 * The pushed change feed of one ECS (account, region): the queue of EventBridge events
 * (adapters/aws/sqs-feed.ts, mapped by event-mapping.ts) joined with the region's CloudTrail feed
 * by the shared `JoinedFeed` (adapters/aws/joined-feed.ts, whose contract it is), which keeps what
 * events do not carry (tag changes, user API calls on clusters and services); every ECS source of
 * the region reads this one feed, as it reads the CloudTrail feed alone in poll mode. Its cursors
 * keep the name ECS checkpoints were written with (`ecs-pushed-cursor`), so an upgrade resumes.
 */
import { JoinedFeed } from '../aws/joined-feed.js';
import type { RegionFeed } from '../aws/joined-feed.js';
import type { SqsFeed } from '../aws/sqs-feed.js';
import type { AuditFeed } from './audit-source.js';
import type { EcsRef } from './event-mapping.js';

/** What the ECS sources read: CloudTrail alone (poll mode) or the pushed feed. */
export type EcsFeed = RegionFeed<EcsRef>;

export function createPushedEcsFeed(
  queue: SqsFeed<EcsRef>,
  trail: AuditFeed | undefined,
): JoinedFeed<EcsRef> {
  return new JoinedFeed<EcsRef>(queue, trail, 'ecs-pushed-cursor');
}
