/**
 * AWS credentials of one account, from the adapter's `credentials` config: the SDK's default
 * chain (`undefined`), static keys given by reference, or assume-role with an external id
 * (`fromTemporaryCredentials`, which calls STS AssumeRole on first use and refreshes itself before
 * expiry). One credentials value is shared by every client of the account.
 *
 * Failure: building credentials never calls the network; a bad credential or a refused
 * AssumeRole surfaces on the first API call that needs it.
 */
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AwsCredentialsConfig } from './config.js';

/** The `credentials` block every AWS adapter config shares. */
export type { AwsCredentialsConfig };

export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;

export interface AwsClientOptions {
  /** STS endpoint for assume-role (tests: the emulator). Default: the SDK's (or AWS_ENDPOINT_URL_STS). */
  stsEndpoint?: string;
  /** Credentials used to call STS AssumeRole. Default: the SDK's default chain. */
  masterCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK attempts per call (standard retry mode). Default 3. */
  maxAttempts?: number;
}

/** The credentials `config` asks for (undefined: the SDK's default chain); STS is called in `stsRegion`. */
export function credentialsFor(
  config: AwsCredentialsConfig,
  stsRegion: string,
  options: AwsClientOptions = {},
): Credentials {
  switch (config.source) {
    case 'default':
      return undefined;
    case 'static':
      return {
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}),
      };
    case 'assumeRole':
      return fromTemporaryCredentials({
        params: {
          RoleArn: config.roleArn,
          ExternalId: config.externalId,
          RoleSessionName: config.sessionName,
        },
        ...(options.masterCredentials !== undefined ? { masterCredentials: options.masterCredentials } : {}),
        clientConfig: {
          region: stsRegion,
          ...(options.stsEndpoint !== undefined ? { endpoint: options.stsEndpoint } : {}),
        },
      });
  }
}
