/**
 * An end-to-end world: every registered provider's demo part (its emulator with the demo fleet,
 * src/demo/demo-parts.ts, at the `test` pace), the reference console,
 * and the real `sightline run` process spawned as a user runs it (node bin/sightline.js run), all
 * on loopback. Helpers read the console's view (ListRecords / ListClusters) and the truth (a
 * `once` inventory against the emulators) so tests can compare them. `playStep(n)` plays the demo's
 * scripted change n; `run`, `ecs` and `lambda` reach an emulator directly for a test that needs a given fault.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { LambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import { startReferenceConsole, fetchClusters, fetchRecords } from '../../src/console/index.js';
import type { ClusterView, ImageRecord, ReferenceConsole } from '../../src/console/index.js';
import { startDemoParts } from '../../src/demo/demo-parts.js';
import type { DemoParts } from '../../src/demo/demo-parts.js';
import { loadConfigFile } from '../../src/config/load.js';
import { inventoryOnce } from '../../src/daemon/once.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import type { ClusterObject } from '../../src/model/index.js';

const root = resolve(import.meta.dirname, '../..');

export const token = 'e2e-token-0123456789';

export interface WatcherProcess {
  child: ChildProcess;
  output: string[];
  httpPort: () => number | undefined;
  exited: Promise<number | null>;
}

export class World {
  private watcher: WatcherProcess | undefined;
  consolePort = 0;

  private constructor(
    readonly dir: string,
    readonly demo: DemoParts,
    public console_: ReferenceConsole | undefined,
    readonly configFile: string,
  ) {
    this.consolePort = console_?.port ?? 0;
  }

  static async start(): Promise<World> {
    const dir = mkdtempSync(join(tmpdir(), 'sightline-e2e-'));
    const demo = await startDemoParts('test');
    const console_ = await startReferenceConsole({
      listen: '127.0.0.1:0',
      dbFile: join(dir, 'console.db'),
      token,
    });
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${token}\n`);
    const configFile = join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      `tenant: { group: e2e-group, issuer: "https://issuer.e2e.invalid" }
providers:
${Object.entries(demo.providerSections)
  .map(([id, section]) => `  ${id}: ${JSON.stringify(section)}\n`)
  .join('')}intervals: { clusterPollIntervalMs: 500, heartbeatIntervalMs: 500, watchdogTimeoutMs: 600000 }
budget: { fraction: 1 }
console: { address: "127.0.0.1:${console_.port}", tls: { mode: plaintext }, tokenFile: "${tokenFile}", batchMaxDelayMs: 100 }
stateDir: "${join(dir, 'state')}"
http: { listen: "127.0.0.1:0" }
log: { level: info }
`,
    );
    return new World(dir, demo, console_, configFile);
  }

  /** The variables the config references (the emulators' keys): give them to every process that loads it. */
  get env(): Readonly<Record<string, string>> {
    return this.demo.env;
  }

  /** Plays the demo's scripted change `n` (0, 1, 2, …) and says what it did. */
  playStep(n: number): string {
    return this.demo.playStep(n);
  }

  /** The Cloud Run emulator, for tests that need a Cloud Run fault or change. */
  get run(): CloudRunEmulator {
    for (const p of this.demo.parts) if (p.id === 'cloudRun') return p.emulator;
    throw new Error('no Cloud Run demo part');
  }

  /** The ECS emulator, for tests that need an ECS fault or change. */
  get ecs(): EcsEmulator {
    for (const p of this.demo.parts) if (p.id === 'ecs') return p.emulator;
    throw new Error('no ECS demo part');
  }

  /** The Lambda emulator, for tests that need a Lambda fault or change. */
  get lambda(): LambdaEmulator {
    for (const p of this.demo.parts) if (p.id === 'lambda') return p.emulator;
    throw new Error('no Lambda demo part');
  }

  /** Spawns `sightline run --config …` as a user would. */
  startWatcher(): WatcherProcess {
    const child = spawn(
      process.execPath,
      [join(root, 'bin/sightline.js'), 'run', '--config', this.configFile],
      {
        cwd: root,
        env: {
          ...process.env,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...this.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output: string[] = [];
    let port: number | undefined;
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        output.push(line);
        const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(line);
        if (m?.[1]) port = Number(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    this.watcher = { child, output, httpPort: () => port, exited };
    return this.watcher;
  }

  /** The running watcher's HTTP port, once it logged it. */
  watcherPort(): number | undefined {
    return this.watcher?.httpPort();
  }

  get token(): string {
    return token;
  }

  async stopWatcher(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const w = this.watcher;
    if (!w) return null;
    this.watcher = undefined;
    if (w.child.exitCode !== null || w.child.signalCode !== null) return w.child.exitCode;
    w.child.kill(signal);
    return w.exited;
  }

  async stopConsole(): Promise<void> {
    await this.console_?.stop();
    this.console_ = undefined;
  }

  /** Restarts the reference console on the same port and database. */
  async restartConsole(): Promise<void> {
    this.console_ = await startReferenceConsole({
      listen: `127.0.0.1:${this.consolePort}`,
      dbFile: join(this.dir, 'console.db'),
      token,
    });
  }

  records(): Promise<ImageRecord[]> {
    return fetchRecords(`127.0.0.1:${this.consolePort}`, { token, plaintext: true });
  }

  clusters(): Promise<ClusterView[]> {
    return fetchClusters(`127.0.0.1:${this.consolePort}`, { token, plaintext: true });
  }

  /** The truth: one full inventory pass against the emulators, as `sightline once` does. */
  async truth(): Promise<ClusterObject[]> {
    const config = loadConfigFile(this.configFile, { env: this.env });
    const r = await inventoryOnce(config, {
      logger: createLogger({ level: 'silent', pretty: false }),
      registry: createRegistry(false),
      agentVersion: 'truth',
    });
    if (r.errors.length > 0) throw new Error(`truth inventory failed: ${JSON.stringify(r.errors)}`);
    return r.objects;
  }

  async close(): Promise<void> {
    await this.stopWatcher('SIGKILL');
    await this.stopConsole();
    await this.demo.stop();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  }
}

/** `cluster/Kind/name@digest` for every workload context the console shows as running. */
export function liveSightings(records: ImageRecord[]): Set<string> {
  const out = new Set<string>();
  for (const r of records) {
    for (const w of r.workloads) {
      if (!w.deleted && w.current)
        out.add(`${r.cluster_name}/${w.kind.kind}/${w.name}@${r.image.digest || r.image.ref}`);
    }
  }
  return out;
}

/** The same set computed from an inventory. */
export function truthSightings(objects: ClusterObject[]): Set<string> {
  const names = new Map<string, string>();
  for (const o of objects) if (o.kind === 'cluster') names.set(o.cluster.id, o.cluster.name);
  const out = new Set<string>();
  for (const o of objects) {
    // A one-off inventory also lists tasks stopped within the last hour (so short-lived tasks are
    // sighted); they are not running, and the console shows them as no longer current.
    if (o.kind !== 'workload' || o.workload.status === 'STOPPED') continue;
    for (const c of o.workload.containers) {
      out.add(
        `${names.get(o.workload.clusterId) ?? '?'}/${o.workload.kind}/${o.workload.name}@${c.image.digest ?? c.image.reference}`,
      );
    }
  }
  return out;
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes (real loopback I/O). */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for: ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort();
}
