/**
 * `sightline demo` (`npm start`): the Cloud Run and ECS emulators with a small fleet, the
 * reference console and the watcher, all on 127.0.0.1, plus a live `clusters list` that refreshes
 * every second and a line per sighting while a script changes the fleet every few seconds.
 *
 * Ports are ephemeral (the endpoint ports in config/examples/demo.yaml are replaced by the ones
 * actually bound) and the state lives in a temporary directory removed at exit. Stops cleanly on
 * Ctrl-C, or after `durationMs` when given. Logs go to `<tmp>/sightline.log`, not the screen.
 */
import { mkdtempSync, rmSync, readFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { agentVersion } from '../runtime/version.js';
import { Daemon } from '../daemon/daemon.js';
import { startReferenceConsole, fetchClusters, renderClustersTable } from '../console/index.js';
import { startCloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import {
  demoAccount,
  demoAwsRegion,
  demoProject,
  demoRegions,
  playDemoStep,
  seedDemoFleet,
} from './demo-fleet.js';
import { sightingLine } from './sighting-line.js';

export interface DemoOptions {
  /** Stop by itself after this long (tests); default: run until Ctrl-C. */
  durationMs?: number;
  /** Time between scripted fleet changes. */
  stepIntervalMs?: number;
  /** Redraw the screen in place (default: stdout is a TTY). */
  redraw?: boolean;
  out?: NodeJS.WritableStream;
}

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const demoConfigFile = join(repoRoot, 'config', 'examples', 'demo.yaml');
/** The ECS emulator's static keys, which demo.yaml references (a secret field takes no inline default). */
export const demoEmulatorKeys = {
  SIGHTLINE_DEMO_AWS_KEY: 'AKIDDEMOEMULATOR',
  SIGHTLINE_DEMO_AWS_SECRET: 'demo-emulator-secret',
};
const refreshIntervalMs = 1_000;
const sightingLinesShown = 14;

export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const out = options.out ?? process.stdout;
  const redraw = options.redraw ?? (process.stdout.isTTY === true && out === process.stdout);
  const stepIntervalMs = options.stepIntervalMs ?? 4_000;
  const dir = mkdtempSync(join(tmpdir(), 'sightline-demo-'));
  const logFile = join(dir, 'sightline.log');
  const logger = createLogger({ level: 'info', destination: createWriteStream(logFile) });
  const token = readFileSync(join(repoRoot, 'config', 'examples', 'dev-token'), 'utf8').trim();

  const run = await startCloudRunEmulator({ projects: { [demoProject]: demoRegions }, readyDelayMs: 1_500 });
  const ecs = await startEcsEmulator({ account: demoAccount, region: demoAwsRegion });
  const console_ = await startReferenceConsole({
    listen: '127.0.0.1:0',
    dbFile: join(dir, 'console.db'),
    token,
  });
  seedDemoFleet(run.fleet, ecs.fleet);

  const base = loadConfigFile(demoConfigFile, { env: { ...demoEmulatorKeys, ...process.env } });
  const cr = base.providers.cloudRun;
  const ec = base.providers.ecs;
  if (!cr || !ec) throw new Error(`${demoConfigFile} must configure both providers`);
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
    console: { ...base.console, address: `127.0.0.1:${console_.port}` },
    stateDir: join(dir, 'state'),
    http: { listen: '127.0.0.1:0' },
  };

  const clusterNames = new Map<string, string>();
  const lines: string[] = [];
  const print = (line: string): void => {
    lines.push(line);
    if (lines.length > sightingLinesShown) lines.shift();
    if (!redraw) out.write(`${line}\n`);
  };
  const daemon = new Daemon(config, {
    logger,
    registry: createRegistry(),
    agentVersion,
    onEvent: (event) => {
      if ((event.type === 'ADDED' || event.type === 'MODIFIED') && event.object.kind === 'cluster') {
        clusterNames.set(event.object.cluster.id, event.object.cluster.name);
      }
      const line = sightingLine(event, clusterNames, Date.now());
      if (line) print(line);
    },
  });
  await daemon.start();
  out.write(
    `sightline demo: Cloud Run (${demoRegions.join(', ')}) and ECS (${demoAwsRegion}: payments, web) emulated on loopback\n` +
      `console 127.0.0.1:${console_.port} (try: npx sightline clusters list --console 127.0.0.1:${console_.port} --plaintext --token-file config/examples/dev-token)\n` +
      `metrics http://127.0.0.1:${daemon.httpPort ?? '?'}/metrics   logs ${logFile}   Ctrl-C to stop\n\n`,
  );

  let step = 0;
  let lastTable = '';
  const refresh = async (): Promise<void> => {
    try {
      const clusters = await fetchClusters(`127.0.0.1:${console_.port}`, { token, plaintext: true });
      lastTable = renderClustersTable(clusters, Date.now());
    } catch (err) {
      lastTable = `(console not answering: ${err instanceof Error ? err.message : String(err)})\n`;
    }
    if (redraw) {
      out.write(
        `\x1b[H\x1b[2J${new Date().toISOString().slice(11, 19)}  sightline demo — Ctrl-C to stop\n\n${lastTable}\nRecent sightings (* = found by relist):\n${lines.join('\n')}\n`,
      );
    }
  };
  const timers: NodeJS.Timeout[] = [];
  let tableTicks = 0;
  timers.push(
    setInterval(() => {
      void refresh().then(() => {
        tableTicks += 1;
        if (!redraw && tableTicks % 5 === 1) out.write(`\n${lastTable}\n`);
      });
    }, refreshIntervalMs),
  );
  timers.push(
    setInterval(() => {
      const what = playDemoStep(run.fleet, ecs.fleet, step++);
      print(`${new Date().toISOString().slice(11, 19)} >>> ${what}`);
    }, stepIntervalMs),
  );

  await new Promise<void>((resolveStop) => {
    const done = (): void => resolveStop();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (options.durationMs !== undefined) timers.push(setTimeout(done, options.durationMs));
  });
  for (const t of timers) clearInterval(t);
  out.write('\nstopping: watcher, console, emulators…\n');
  await refresh();
  if (!redraw) out.write(`${lastTable}\n`);
  await daemon.stop();
  await console_.stop();
  await Promise.all([run.stop(), ecs.stop()]);
  rmSync(dir, { recursive: true, force: true });
  out.write('stopped cleanly\n');
}
