/**
 * AWS SDK clients of the ECS adapter for one account: an ECSClient and a CloudTrailClient per
 * region (and an SQSClient in pushed mode), sharing one credentials value (adapters/aws/credentials.ts: default chain, static keys by
 * reference, or assume-role with an external id). Endpoint overrides come from `config.endpoints`
 * (emulator, LocalStack).
 *
 * Failure: building clients never calls the network; a bad credential surfaces on the first call.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { EcsConfig } from './config.js';
import { awsClientConfig } from '../aws/client-config.js';
import { credentialsFor } from '../aws/credentials.js';
import type { AwsClientOptions } from '../aws/credentials.js';

export type EcsClientOptions = AwsClientOptions;

export interface RegionClients {
  region: string;
  ecs: ECSClient;
  cloudTrail: CloudTrailClient;
  /** The events queue's client (pushed mode only). */
  sqs?: SQSClient;
}

/** One ECSClient + CloudTrailClient per configured region, sharing the credentials. */
export function createRegionClients(config: EcsConfig, options: EcsClientOptions = {}): RegionClients[] {
  const credentials = credentialsFor(config.credentials, config.regions[0] ?? 'us-east-1', options);
  return config.regions.map((region) => ({
    region,
    ecs: new ECSClient(awsClientConfig(region, credentials, config.endpoints.ecs, options.maxAttempts)),
    cloudTrail: new CloudTrailClient(
      awsClientConfig(region, credentials, config.endpoints.cloudtrail, options.maxAttempts),
    ),
    ...(config.changeFeed.source === 'sqs'
      ? {
          sqs: new SQSClient(awsClientConfig(region, credentials, config.endpoints.sqs, options.maxAttempts)),
        }
      : {}),
  }));
}

export function destroyRegionClients(clients: RegionClients[]): void {
  for (const c of clients) {
    c.ecs.destroy();
    c.cloudTrail.destroy();
    c.sqs?.destroy();
  }
}
