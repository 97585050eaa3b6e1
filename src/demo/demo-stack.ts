/**
 * The demo's running parts, started together on 127.0.0.1 with ephemeral ports: every registered
 * provider's demo part (its emulator seeded with the demo fleet; demo-parts.ts), the reference
 * console with its web view, and the watcher (Daemon) configured from config/examples/demo.yaml
 * with its `providers` taken from the demo parts (pointing at the ports actually bound). State and
 * logs live in a fresh temporary directory that `stop()` removes.
 * `sightline demo` shows it on a terminal; tests (the web view's browser test) drive it directly.
 *
 * Failure: if a part cannot start, the parts already started are stopped before the error is thrown.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { providers } from '../../adapters/index.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { startReferenceConsole } from '../console/index.js';
import type { ReferenceConsole } from '../console/index.js';
import { Daemon } from '../daemon/daemon.js';
import type { ClusterObject } from '../model/index.js';
import { secretFieldNames } from '../provider/registration.js';
import type { DemoFeeds, DemoPace } from '../provider/registration.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { agentVersion } from '../runtime/version.js';
import type { WatchEvent } from '../watch/events.js';
import { startDemoParts } from './demo-parts.js';
import type { DemoParts } from './demo-parts.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const demoConfigFile = join(repoRoot, 'config', 'examples', 'demo.yaml');
/** The demo's console token file, as a user types it from the repository root. */
export const demoTokenFile = 'config/examples/dev-token';

export interface DemoStackOptions {
  /** Every watch event the daemon delivers (the demo's sighting lines). */
  onEvent?: (event: WatchEvent<ClusterObject>) => void;
  /** The emulators' pace (default `demo`, one a person can follow; `test` is faster). */
  pace?: DemoPace;
  /** The change feeds the demo watches through (default `pushed`). */
  feeds?: DemoFeeds;
  /** How often an open web page re-fetches its content. */
  webRefreshMs?: number;
}

export interface DemoStack {
  /** The providers' demo parts: their emulators and the scripted changes. */
  demo: DemoParts;
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
  const logger = createLogger({
    level: 'info',
    destination: logStream,
    secretFields: secretFieldNames(providers),
  });
  const token = readFileSync(join(repoRoot, demoTokenFile), 'utf8').trim();
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
    await new Promise<void>((r) => logStream.end(() => r()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const demo = await startDemoParts(options.pace ?? 'demo', options.feeds ?? 'pushed');
    stops.push(() => demo.stop());
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

    const consoleAddress = `127.0.0.1:${console_.port}`;
    const base = parseConfig(JSON.stringify(demoConfigWith(demo)), demoConfigFile, {
      env: { ...demo.env, ...process.env },
    });
    const config: Config = {
      ...base,
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
      demo,
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

/**
 * demo.yaml as written, with its `providers` replaced by the demo parts' sections (its own provider
 * sections show what the demo runs, for a reader and for `sightline validate`).
 */
function demoConfigWith(demo: DemoParts): Record<string, unknown> {
  const raw: unknown = parseYaml(readFileSync(demoConfigFile, 'utf8'));
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${demoConfigFile} must be a YAML mapping`);
  return { ...raw, providers: demo.providerSections };
}
