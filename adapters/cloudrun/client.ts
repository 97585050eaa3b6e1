/**
 * Builds the SDK clients the adapter uses: Run Admin v2 (@google-cloud/run, gax 5) Services,
 * Revisions, Jobs, Executions and WorkerPools clients; Cloud Logging's generated
 * `LoggingServiceV2Client` (from `@google-cloud/logging`'s `v2`, gax 5 via logging-api); and an
 * authenticated GET for the regional v1 (Knative) REST API.
 *
 * Credentials: ADC, a key file, or service-account impersonation (google-auth-library
 * `Impersonated`, source = ADC). `source: 'none'` (emulator only) sends no credentials and
 * requires `endpoints.insecure`. Endpoint overrides use `{ apiEndpoint, port, sslCreds:
 * createInsecure(), universeDomain: 'googleapis.com' }` (without universeDomain gax would look for
 * ADC / the metadata server). Tokens never reach logs or errors: v1 failures report status only.
 */
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import {
  ExecutionsClient,
  JobsClient,
  RevisionsClient,
  ServicesClient,
  WorkerPoolsClient,
} from '@google-cloud/run';
import { v2 as loggingV2 } from '@google-cloud/logging';
import type { LoggingServiceV2Client } from '@google-cloud/logging-api';
import { GoogleAuth, Impersonated } from 'google-auth-library';
import type { AuthClient } from 'google-auth-library';
import type { CloudRunConfig } from './config.js';

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_RUN_V1_BASE_URL = 'https://{region}-run.googleapis.com';
export const V1_REQUEST_TIMEOUT_MS = 10_000;

export interface V1Response {
  status: number;
  body: unknown;
}

export interface CloudRunClients {
  services: ServicesClient;
  revisions: RevisionsClient;
  jobs: JobsClient;
  executions: ExecutionsClient;
  workerPools: WorkerPoolsClient;
  logging: LoggingServiceV2Client;
  /** GET `{runV1 base for region}{path}` with the configured credentials. Never throws on HTTP errors. */
  getV1(region: string, path: string): Promise<V1Response>;
  close(): Promise<void>;
}

/** Thrown for configuration mistakes (e.g. `source: 'none'` against a TLS endpoint). */
class CloudRunConfigError extends Error {
  override name = 'CloudRunConfigError';
}

function hostPort(value: string): { apiEndpoint: string; port: number } {
  const i = value.lastIndexOf(':');
  return { apiEndpoint: value.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(value.slice(i + 1)) };
}

export async function authClientFor(config: CloudRunConfig): Promise<AuthClient | undefined> {
  const c = config.credentials;
  switch (c.source) {
    case 'none':
      return undefined;
    case 'adc':
      return new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] }).getClient();
    case 'keyFile':
      return new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE], keyFilename: c.keyFile }).getClient();
    case 'impersonate': {
      const sourceClient = await new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] }).getClient();
      return new Impersonated({
        sourceClient,
        targetPrincipal: c.serviceAccount,
        targetScopes: [CLOUD_PLATFORM_SCOPE],
        lifetime: 3600,
        delegates: [],
      });
    }
  }
}

export async function createCloudRunClients(
  config: CloudRunConfig,
  projectId: string,
): Promise<CloudRunClients> {
  if (config.credentials.source === 'none' && !config.endpoints.insecure) {
    throw new CloudRunConfigError(
      "credentials.source 'none' is for the emulator: set endpoints.insecure: true",
    );
  }
  const auth = await authClientFor(config);
  const common: Record<string, unknown> = { projectId, universeDomain: 'googleapis.com' };
  if (auth) common['authClient'] = auth;
  if (config.endpoints.insecure) common['sslCreds'] = grpcCredentials.createInsecure();
  const runOpts = { ...common, ...(config.endpoints.run ? hostPort(config.endpoints.run) : {}) };
  const logOpts = { ...common, ...(config.endpoints.logging ? hostPort(config.endpoints.logging) : {}) };
  const LoggingClient = (loggingV2 as { LoggingServiceV2Client: new (o: object) => LoggingServiceV2Client })
    .LoggingServiceV2Client;

  const services = new ServicesClient(runOpts);
  const revisions = new RevisionsClient(runOpts);
  const jobs = new JobsClient(runOpts);
  const executions = new ExecutionsClient(runOpts);
  const workerPools = new WorkerPoolsClient(runOpts);
  const logging = new LoggingClient(logOpts);
  const base = config.endpoints.runV1 ?? DEFAULT_RUN_V1_BASE_URL;

  return {
    services,
    revisions,
    jobs,
    executions,
    workerPools,
    logging,
    async getV1(region: string, path: string): Promise<V1Response> {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (auth) {
        const { token } = await auth.getAccessToken();
        if (token) headers['authorization'] = `Bearer ${token}`;
      }
      const url = base.replaceAll('{region}', encodeURIComponent(region)).replace(/\/$/, '') + path;
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(V1_REQUEST_TIMEOUT_MS) });
      const text = await res.text();
      let body: unknown;
      try {
        body = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: res.status, body };
    },
    async close(): Promise<void> {
      await Promise.allSettled([
        services.close(),
        revisions.close(),
        jobs.close(),
        executions.close(),
        workerPools.close(),
        logging.close(),
      ]);
    },
  };
}
