/**
 * The @google-cloud/pubsub client of the pushed change feed, with the adapter's credentials (ADC,
 * key file, impersonation; none for the emulator) and the `endpoints.pubsub` override. Against an
 * emulator (`endpoints.insecure`) it runs in the client's emulator mode: plaintext gRPC, no token;
 * `universeDomain` is set so that the client never looks for the metadata server. Loaded only in
 * pushed mode (the package costs start-up time).
 *
 * Failure: rejects only on configuration mistakes (as createCloudRunClients does).
 */
import { PubSub } from '@google-cloud/pubsub';
import type { ClientConfig } from '@google-cloud/pubsub';
import type { CloudRunConfig } from './config.js';
import { authClientFor } from './client.js';

export async function createPubsubClient(config: CloudRunConfig, projectId: string): Promise<PubSub> {
  const options: ClientConfig = { projectId, universeDomain: 'googleapis.com' };
  if (config.endpoints.pubsub !== undefined) options.apiEndpoint = config.endpoints.pubsub;
  if (config.endpoints.insecure) options.emulatorMode = true;
  else {
    const auth = await authClientFor(config);
    if (auth) (options as Record<string, unknown>)['authClient'] = auth;
  }
  return new PubSub(options);
}
