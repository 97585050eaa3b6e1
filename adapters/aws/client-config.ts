/**
 * The configuration every AWS SDK client of sightline is built with: one region, the account's
 * shared credentials, standard retry mode with `maxAttempts` (default 3: the SDK retries
 * throttling and 5xx itself; the API budget sits in front), and an endpoint override when the
 * config names one (an emulator, LocalStack). Building a client never calls the network.
 */
import type { Credentials } from './credentials.js';

// The SDK warns on Node 20 at every client construction; the versions are pinned (docs/reference/cloud-apis.md).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const DEFAULT_MAX_ATTEMPTS = 3;

export interface AwsClientConfig {
  region: string;
  maxAttempts: number;
  retryMode: string;
  credentials?: Exclude<Credentials, undefined>;
  endpoint?: string;
}

export function awsClientConfig(
  region: string,
  credentials: Credentials,
  endpoint: string | undefined,
  maxAttempts = DEFAULT_MAX_ATTEMPTS,
): AwsClientConfig {
  return {
    region,
    maxAttempts,
    retryMode: 'standard',
    ...(credentials !== undefined ? { credentials } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
  };
}
