/**
 * The demo's running parts, started together on 127.0.0.1 with ephemeral ports: the Cloud Run and
 * ECS emulators seeded with the demo fleet, the reference console with its web view, and the
 * watcher (Daemon) configured from config/examples/demo.yaml with the endpoints rewritten to the
 * ports actually bound. State and logs live in a fresh temporary directory that `stop()` removes.
 * `sightline demo` shows it on a terminal; tests (the web view's browser test) drive it directly.
 *
 * Failure: if a part cannot start, the parts already started are stopped before the error is thrown.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import type { CloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { startReferenceConsole } from '../console/index.js';
import type { ReferenceConsole } from '../console/index.js';
import { Daemon } from '../daemon/daemon.js';
import type { ClusterObject } from '../model/index.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { agentVersion } from '../runtime/version.js';
import type { WatchEvent } from '../watch/events.js';
import { demoAccount, demoAwsRegion, demoProject, demoRegions, seedDemoFleet } from './demo-fleet.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const demoConfigFile = join(repoRoot, 'config', 'examples', 'demo.yaml');
/** The ECS emulator's static keys, which demo.yaml references (a secret field takes no inline default). */
export const demoEmulatorKeys = {
  SIGHTLINE_DEMO_AWS_KEY: 'AKIDDEMOEMULATOR',
  SIGHTLINE_DEMO_AWS_SECRET: 'demo-emulator-secret',
};
/** The demo's console token file, as a user types it from the repository root. */
export const demoTokenFile = 'config/examples/dev-token';

export interface DemoStackOptions {
  /** Every watch event the daemon delivers (the demo's sighting lines). */
  onEvent?: (event: WatchEvent<ClusterObject>) => void;
  /** Time a new Cloud Run revision takes to become ready in the emulator. */
  cloudRunReadyDelayMs?: number;
  /** How often an open web page re-fetches its content. */
  webRefreshMs?: number;
}

export interface DemoStack {
  run: CloudRunEmulator;
  ecs: EcsEmulator;
  console: ReferenceConsole;
  daemon: Daemon;
  token: string;
  /** The web view's URL. */
  webUrl: string;
  consoleAddress: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startDemoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  const dir = mkdtempSync(join(tmpdir(), 'sightline-demo-'));
  const logFile = join(dir, 'sightline.log');
  const logStream = createWriteStream(logFile);
  const logger = createLogger({ level: 'info', destination: logStream });
  const token = readFileSync(join(repoRoot, demoTokenFile), 'utf8').trim();
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
    await new Promise<void>((r) => logStream.end(() => r()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const run = await startCloudRunEmulator({
      projects: { [demoProject]: demoRegions },
      readyDelayMs: options.cloudRunReadyDelayMs ?? 1_500,
    });
    stops.push(() => run.stop());
    const ecs = await startEcsEmulator({ account: demoAccount, region: demoAwsRegion });
    stops.push(() => ecs.stop());
    const console_ = await startReferenceConsole({
      listen: '127.0.0.1:0',
      dbFile: join(dir, 'console.db'),
      token,
      web: {
        listen: '127.0.0.1:0',
        ...(options.webRefreshMs !== undefined ? { refreshMs: options.webRefreshMs } : {}),
      },
    });
    stops.push(() => console_.stop());
    seedDemoFleet(run.fleet, ecs.fleet);

    const base = loadConfigFile(demoConfigFile, { env: { ...demoEmulatorKeys, ...process.env } });
    const cr = base.providers.cloudRun;
    const ec = base.providers.ecs;
    if (!cr || !ec) throw new Error(`${demoConfigFile} must configure both providers`);
    const consoleAddress = `127.0.0.1:${console_.port}`;
    const config: Config = {
      ...base,
      providers: {
        cloudRun: {
          ...cr,
          endpoints: {
            run: `127.0.0.1:${run.runEndpoint.port}`,
            logging: `127.0.0.1:${run.loggingEndpoint.port}`,
            runV1: run.runV1BaseUrl,
            insecure: true,
          },
        },
        ecs: { ...ec, endpoints: { ecs: ecs.endpoint, cloudtrail: ecs.endpoint } },
      },
      console: { ...base.console, address: consoleAddress },
      stateDir: join(dir, 'state'),
      http: { listen: '127.0.0.1:0' },
    };
    const daemon = new Daemon(config, {
      logger,
      registry: createRegistry(),
      agentVersion,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
    stops.push(() => daemon.stop());
    await daemon.start();
    return {
      run,
      ecs,
      console: console_,
      daemon,
      token,
      webUrl: console_.webUrl ?? '',
      consoleAddress,
      logFile,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
