/**
 * AWS SDK clients for one account: an ECSClient and a CloudTrailClient per region, sharing one
 * credentials provider. Credentials: the SDK's default chain; assume role with an external id
 * (`fromTemporaryCredentials`, which refreshes itself before expiry); or static keys given by
 * reference in the config. Endpoint overrides come from `config.endpoints` (emulator, LocalStack).
 * Throttling is retried by the SDK itself (standard mode, 3 attempts); our budget sits in front.
 *
 * Failure: building clients never calls the network; a bad credential surfaces on the first call.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { ECSClient } from '@aws-sdk/client-ecs';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { EcsConfig } from '../../src/config/schema.js';

// The SDK warns on Node 20 at every client construction; the versions are pinned (docs/reference/cloud-apis.md).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export interface EcsClientOptions {
  /** STS endpoint for assume-role (tests: the emulator). Default: the SDK's (or AWS_ENDPOINT_URL_STS). */
  stsEndpoint?: string;
  /** Credentials used to call STS AssumeRole. Default: the SDK's default chain. */
  masterCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK attempts per call (standard retry mode). Default 3. */
  maxAttempts?: number;
}

export interface RegionClients {
  region: string;
  ecs: ECSClient;
  cloudTrail: CloudTrailClient;
}

export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;

/** The credentials the config asks for (undefined: the SDK's default chain). */
export function credentialsFor(
  config: EcsConfig,
  options: EcsClientOptions = {},
  region?: string,
): Credentials {
  const c = config.credentials;
  switch (c.source) {
    case 'default':
      return undefined;
    case 'static':
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}),
      };
    case 'assumeRole':
      return fromTemporaryCredentials({
        params: { RoleArn: c.roleArn, ExternalId: c.externalId, RoleSessionName: c.sessionName },
        ...(options.masterCredentials !== undefined ? { masterCredentials: options.masterCredentials } : {}),
        clientConfig: {
          region: region ?? config.regions[0] ?? 'us-east-1',
          ...(options.stsEndpoint !== undefined ? { endpoint: options.stsEndpoint } : {}),
        },
      });
  }
}

/** One ECSClient + CloudTrailClient per configured region, sharing the credentials provider. */
export function createRegionClients(config: EcsConfig, options: EcsClientOptions = {}): RegionClients[] {
  const credentials = credentialsFor(config, options);
  const maxAttempts = options.maxAttempts ?? 3;
  return config.regions.map((region) => {
    const common = {
      region,
      maxAttempts,
      retryMode: 'standard',
      ...(credentials !== undefined ? { credentials } : {}),
    };
    return {
      region,
      ecs: new ECSClient({
        ...common,
        ...(config.endpoints.ecs !== undefined ? { endpoint: config.endpoints.ecs } : {}),
      }),
      cloudTrail: new CloudTrailClient({
        ...common,
        ...(config.endpoints.cloudtrail !== undefined ? { endpoint: config.endpoints.cloudtrail } : {}),
      }),
    };
  });
}

export function destroyRegionClients(clients: RegionClients[]): void {
  for (const c of clients) {
    c.ecs.destroy();
    c.cloudTrail.destroy();
  }
}
