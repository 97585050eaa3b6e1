/**
 * Loads the gRPC service definitions the emulator serves, from the protos bundled in
 * @google-cloud/run and @google-cloud/logging-api (plus google-gax's common protos), with
 * @grpc/proto-loader in keepCase mode (wire objects use snake_case field names).
 */
import * as protoLoader from '@grpc/proto-loader';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { GrpcObject, ServiceDefinition } from '@grpc/grpc-js';
import { packageProtosDir } from '../audit-proto.js';

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

function serviceDef(pkg: GrpcObject, path: string): ServiceDefinition {
  let cur: unknown = pkg;
  for (const part of path.split('.')) cur = (cur as Record<string, unknown>)[part];
  const def = (cur as { service?: ServiceDefinition } | undefined)?.service;
  if (!def) throw new Error(`service ${path} not found in the bundled protos`);
  return def;
}

export interface EmulatorProtos {
  services: ServiceDefinition;
  revisions: ServiceDefinition;
  jobs: ServiceDefinition;
  executions: ServiceDefinition;
  workerPools: ServiceDefinition;
  locations: ServiceDefinition;
  logging: ServiceDefinition;
}

let cached: EmulatorProtos | undefined;

export function loadEmulatorProtos(): EmulatorProtos {
  if (cached) return cached;
  const runDir = packageProtosDir('@google-cloud/run');
  const runGax = packageProtosDir('google-gax', '@google-cloud/run');
  const run = loadPackageDefinition(
    protoLoader.loadSync(
      [
        'google/cloud/run/v2/service.proto',
        'google/cloud/run/v2/revision.proto',
        'google/cloud/run/v2/job.proto',
        'google/cloud/run/v2/execution.proto',
        'google/cloud/run/v2/worker_pool.proto',
        'google/cloud/location/locations.proto',
      ],
      { ...LOADER_OPTIONS, includeDirs: [runDir, runGax] },
    ),
  );
  const logDir = packageProtosDir('@google-cloud/logging-api');
  const logGax = packageProtosDir('google-gax', '@google-cloud/logging-api');
  const logging = loadPackageDefinition(
    protoLoader.loadSync(['google/logging/v2/logging.proto'], {
      ...LOADER_OPTIONS,
      includeDirs: [logDir, logGax],
    }),
  );
  cached = {
    services: serviceDef(run, 'google.cloud.run.v2.Services'),
    revisions: serviceDef(run, 'google.cloud.run.v2.Revisions'),
    jobs: serviceDef(run, 'google.cloud.run.v2.Jobs'),
    executions: serviceDef(run, 'google.cloud.run.v2.Executions'),
    workerPools: serviceDef(run, 'google.cloud.run.v2.WorkerPools'),
    locations: serviceDef(run, 'google.cloud.location.Locations'),
    logging: serviceDef(logging, 'google.logging.v2.LoggingServiceV2'),
  };
  return cached;
}
