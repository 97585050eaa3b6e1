/**
 * The Cloud Run wire-level emulator: Run Admin v2 (gRPC), Cloud Logging v2 (gRPC, with real
 * AuditLog payloads and bidi tailing) and the regional v1 REST revision API (HTTP), and with
 * `logSink` a Log Router sink publishing the audit entries to a Pub/Sub topic served over gRPC
 * (StreamingPull; see pubsub-server.ts), all on
 * 127.0.0.1 with ephemeral ports, backed by one scriptable Fleet. The real SDK clients talk to it
 * unchanged (plaintext gRPC). `stop()` closes every server and open stream.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server } from '@grpc/grpc-js';
import type { SchedulerLike } from 'rxjs';
import { Fleet } from './fleet.js';
import type { FleetOptions } from './fleet.js';
import { CallLog, Faults } from './faults.js';
import { loadEmulatorProtos } from './protos.js';
import { createRunServer } from './run-server.js';
import { createLoggingServer } from './logging-server.js';
import { createV1Server } from './v1-http.js';
import { listen, shutdown } from './grpc-util.js';
import { PubsubBroker } from './pubsub-broker.js';
import { createPubsubServer } from './pubsub-server.js';
import type { PubsubServer } from './pubsub-server.js';
import { startLogSink } from './log-sink.js';

export { Fleet, digestOf, DEFAULT_REGIONS } from './fleet.js';
export type { DeployOptions, FleetOptions } from './fleet.js';
export { Faults, CallLog } from './faults.js';
export type { SuppressionReason } from './faults.js';
export { PubsubBroker } from './pubsub-broker.js';
export type { BrokerKnobs } from './pubsub-broker.js';

/** A Log Router sink to a Pub/Sub topic, and the subscription the watcher reads. */
export interface LogSinkEmulatorOptions {
  /** `projects/<p>/topics/<t>`. */
  topic: string;
  /** `projects/<p>/subscriptions/<s>`. */
  subscription: string;
  /** The subscription's ack deadline, seconds (default 10). */
  ackDeadlineS?: number;
  /** The sink's filter (default CLOUD_RUN_SINK_FILTER). */
  filter?: string;
  /** A project sink: only these projects' entries (default: every project, an organization sink). */
  projects?: string[];
  /** The broker's randomness (duplicates, reordering, loss). */
  random?: () => number;
  /** The broker's clock (ack deadlines, delays); default: the fleet's scheduler. */
  scheduler?: SchedulerLike;
}

export interface CloudRunEmulatorOptions extends FleetOptions {
  /** Largest page any list RPC returns (default 1000), to exercise paging with small fleets. */
  maxPageSize?: number;
  logSink?: LogSinkEmulatorOptions;
}

export interface CloudRunEmulator {
  runEndpoint: { host: string; port: number };
  loggingEndpoint: { host: string; port: number };
  /** `http://127.0.0.1:PORT/regions/{region}` (the `{region}` placeholder is kept). */
  runV1BaseUrl: string;
  fleet: Fleet;
  faults: Faults;
  calls: CallLog;
  /** With `logSink`: the Pub/Sub server and its broker. */
  pubsubEndpoint?: { host: string; port: number };
  pubsub?: PubsubBroker;
  /** Open StreamingPull streams right now. */
  openStreamingPulls(): number;
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
  let pubsubServer: PubsubServer | undefined;
  let broker: PubsubBroker | undefined;
  let pubsubPort = 0;
  let stopSink: () => void = () => undefined;
  if (options.logSink) {
    const sink = options.logSink;
    broker = new PubsubBroker(sink.scheduler ?? options.scheduler, sink.random);
    stopSink = startLogSink(fleet.log, broker, {
      topic: sink.topic,
      ...(sink.filter === undefined ? {} : { filter: sink.filter }),
      ...(sink.projects === undefined ? {} : { projects: sink.projects }),
    });
    broker.createSubscription(sink.subscription, sink.topic, sink.ackDeadlineS);
    pubsubServer = createPubsubServer(broker, calls, faults);
    pubsubPort = await listen(pubsubServer);
  }
  let stopped = false;
  return {
    ...(broker ? { pubsub: broker, pubsubEndpoint: { host: '127.0.0.1', port: pubsubPort } } : {}),
    openStreamingPulls: () => pubsubServer?.openStreams() ?? 0,
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
      stopSink();
      broker?.setOutage(true);
      http.closeAllConnections();
      await Promise.all([
        shutdown(run),
        shutdown(logging),
        ...(pubsubServer ? [shutdown(pubsubServer)] : []),
        new Promise<void>((resolve) => http.close(() => resolve())),
      ]);
    },
  };
}
