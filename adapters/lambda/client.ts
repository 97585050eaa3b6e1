/**
 * AWS SDK clients of the Lambda adapter for one account: a LambdaClient and a CloudTrailClient per
 * region (and an SQSClient in pushed mode), sharing one credentials value (adapters/aws/credentials.ts).
 * Endpoint overrides come from `config.endpoints` (emulator, LocalStack).
 *
 * Failure: building clients never calls the network; a bad credential surfaces on the first call.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '../aws/client-config.js';
import { credentialsFor } from '../aws/credentials.js';
import type { AwsClientOptions } from '../aws/credentials.js';
import type { LambdaConfig } from './config.js';

export type LambdaClientOptions = AwsClientOptions;

export interface RegionClients {
  region: string;
  lambda: LambdaClient;
  cloudTrail: CloudTrailClient;
  sqs?: SQSClient;
}

export function createRegionClients(
  config: LambdaConfig,
  options: LambdaClientOptions = {},
): RegionClients[] {
  const credentials = credentialsFor(config.credentials, config.regions[0] ?? 'us-east-1', options);
  const cfg = (region: string, endpoint: string | undefined) =>
    awsClientConfig(region, credentials, endpoint, options.maxAttempts);
  return config.regions.map((region) => ({
    region,
    lambda: new LambdaClient(cfg(region, config.endpoints.lambda)),
    cloudTrail: new CloudTrailClient(cfg(region, config.endpoints.cloudtrail)),
    ...(config.changeFeed.source === 'sqs' ? { sqs: new SQSClient(cfg(region, config.endpoints.sqs)) } : {}),
  }));
}

export function destroyRegionClients(clients: RegionClients[]): void {
  for (const c of clients) {
    c.lambda.destroy();
    c.cloudTrail.destroy();
    c.sqs?.destroy();
  }
}
