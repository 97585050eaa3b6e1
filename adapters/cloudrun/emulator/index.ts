/**
 * The Cloud Run wire-level emulator: Run Admin v2 (gRPC), Cloud Logging v2 (gRPC, with real
 * AuditLog payloads and bidi tailing) and the regional v1 REST revision API (HTTP), all on
 * 127.0.0.1 with ephemeral ports, backed by one scriptable Fleet. The real SDK clients talk to it
 * unchanged (plaintext gRPC). `stop()` closes every server and open stream.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server } from '@grpc/grpc-js';
import { Fleet } from './fleet.js';
import type { FleetOptions } from './fleet.js';
import { CallLog, Faults } from './faults.js';
import { loadEmulatorProtos } from './protos.js';
import { createRunServer } from './run-server.js';
import { createLoggingServer } from './logging-server.js';
import { createV1Server } from './v1-http.js';
import { listen, shutdown } from './grpc-util.js';

export { Fleet, digestOf, DEFAULT_REGIONS } from './fleet.js';
export type { DeployOptions, FleetOptions } from './fleet.js';
export { Faults, CallLog } from './faults.js';
export type { SuppressionReason } from './faults.js';

export interface CloudRunEmulatorOptions extends FleetOptions {
  /** Largest page any list RPC returns (default 1000), to exercise paging with small fleets. */
  maxPageSize?: number;
}

export interface CloudRunEmulator {
  runEndpoint: { host: string; port: number };
  loggingEndpoint: { host: string; port: number };
  /** `http://127.0.0.1:PORT/regions/{region}` (the `{region}` placeholder is kept). */
  runV1BaseUrl: string;
  fleet: Fleet;
  faults: Faults;
  calls: CallLog;
  /** Open TailLogEntries sessions right now. */
  openTails(): number;
  stop(): Promise<void>;
}

export async function startCloudRunEmulator(
  options: CloudRunEmulatorOptions = {},
): Promise<CloudRunEmulator> {
  const protos = loadEmulatorProtos();
  const fleet = new Fleet(options);
  const faults = new Faults();
  const calls = new CallLog();
  const run: Server = createRunServer(fleet, protos, calls, faults, options.maxPageSize);
  const logging = createLoggingServer(fleet, protos, calls, faults, options.maxPageSize);
  const http: HttpServer = createV1Server(fleet, calls, faults);
  const [runPort, loggingPort] = await Promise.all([listen(run), listen(logging)]);
  const httpPort = await new Promise<number>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => {
      const addr = http.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  let stopped = false;
  return {
    runEndpoint: { host: '127.0.0.1', port: runPort },
    loggingEndpoint: { host: '127.0.0.1', port: loggingPort },
    runV1BaseUrl: `http://127.0.0.1:${httpPort}/regions/{region}`,
    fleet,
    faults,
    calls,
    openTails: () => logging.openTails(),
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      faults.cutTails();
      http.closeAllConnections();
      await Promise.all([
        shutdown(run),
        shutdown(logging),
        new Promise<void>((resolve) => http.close(() => resolve())),
      ]);
    },
  };
}
