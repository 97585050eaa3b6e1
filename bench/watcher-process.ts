/**
 * The watcher as its own process for the whole-daemon benches: `sightline run --config <file>`
 * spawned with the Docker image's ENV (NODE_OPTIONS, allocator settings, as deployed), its HTTP
 * port found from its log or, at warn level, from its listening socket (/proc), its /readyz
 * waited for, its /metrics read, and its resident set read from /proc/<pid>/status (VmRSS now,
 * VmHWM peak) so the figure is the watcher's alone, not the emulators'. Linux only for RSS and
 * the port probe (undefined elsewhere). `stop()` sends SIGTERM and waits for the exit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { imageEnv } from './image-env.js';

const root = resolve(import.meta.dirname, '..');
/** The Docker image's runtime ENV (heap cap, young generation, allocator), as deployed. */
export const watcherImageEnv = imageEnv(join(root, 'Dockerfile'));
/** BENCH_WATCHER_NODE_OPTIONS overrides the image's NODE_OPTIONS for experiments. */
export const watcherNodeOptions =
  process.env['BENCH_WATCHER_NODE_OPTIONS'] ?? watcherImageEnv['NODE_OPTIONS'] ?? '';
const portProbeEveryMs = 200;
const readyProbeEveryMs = 500;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Sum of the samples of metric `name` (lines matching `filter`) in a Prometheus text page. */
export function metricSum(registryText: string, name: string, filter: RegExp = /.*/): number {
  let sum = 0;
  for (const line of registryText.split('\n')) {
    if (!line.startsWith(name) || !filter.test(line)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

export class WatcherProcess {
  private port: number | undefined;
  private lastOutput = '';

  private constructor(
    readonly child: ChildProcess,
    private readonly log: (msg: string) => void,
  ) {
    child.once('exit', (code, signal) => {
      if (code !== 0)
        log(`the watcher exited (code ${code}, signal ${signal}): ${this.lastOutput.slice(-800)}`);
    });
    const watchOutput = (chunk: Buffer): void => {
      this.lastOutput = (this.lastOutput + chunk.toString()).slice(-4000);
      const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(chunk.toString());
      if (m?.[1]) this.port = Number(m[1]);
    };
    child.stdout?.on('data', watchOutput);
    child.stderr?.on('data', watchOutput);
  }

  /** Spawns `sightline run --config configFile` with the image's ENV plus `env`. */
  static spawn(
    configFile: string,
    env: Readonly<Record<string, string>>,
    log: (msg: string) => void,
  ): WatcherProcess {
    const child = spawn(process.execPath, [join(root, 'bin/sightline.js'), 'run', '--config', configFile], {
      cwd: root,
      env: { ...process.env, ...env, ...watcherImageEnv, NODE_OPTIONS: watcherNodeOptions },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WatcherProcess(child, log);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for the HTTP port (log line, else the listening socket), then for /readyz 200. */
  async waitReady(timeoutMs: number): Promise<void> {
    const started = Date.now();
    while (this.port === undefined) {
      if (!this.alive) throw new Error('the watcher died before opening its HTTP port');
      this.port = findListeningPort(this.pid);
      if (this.port === undefined) await sleep(portProbeEveryMs);
      if (Date.now() - started > 60_000) throw new Error('watcher did not open its HTTP port');
    }
    for (;;) {
      if (!this.alive) throw new Error('the watcher died before it was ready');
      const r = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => undefined);
      if (r?.status === 200) return;
      if (Date.now() - started > timeoutMs) throw new Error(`watcher not ready after ${timeoutMs} ms`);
      await sleep(readyProbeEveryMs);
    }
  }

  async metricsText(): Promise<string> {
    if (!this.alive)
      throw new Error(`the watcher died (code ${this.child.exitCode}, signal ${this.child.signalCode})`);
    return (await fetch(`http://127.0.0.1:${this.port ?? 0}/metrics`)).text();
  }

  /** Resident set now (VmRSS), MB. */
  rssMb(): number | undefined {
    return procStatusMb(this.pid, 'VmRSS');
  }

  /** Peak resident set since start (VmHWM), MB. */
  peakRssMb(): number | undefined {
    return procStatusMb(this.pid, 'VmHWM');
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** Samples a watcher's RSS every `everyMs` until stopped: mean and max of the samples, MB. */
export class RssSampler {
  readonly samplesMb: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(watcher: WatcherProcess, everyMs: number) {
    this.timer = setInterval(() => {
      const mb = watcher.rssMb();
      if (mb !== undefined) this.samplesMb.push(mb);
    }, everyMs);
  }

  stop(): { meanMb: number; maxMb: number; samples: number } {
    clearInterval(this.timer);
    const n = this.samplesMb.length;
    return {
      meanMb: n === 0 ? Number.NaN : this.samplesMb.reduce((a, b) => a + b, 0) / n,
      maxMb: n === 0 ? Number.NaN : Math.max(...this.samplesMb),
      samples: n,
    };
  }
}

/** A line of /proc/<pid>/status in MB; undefined off Linux or once the process is gone. */
function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The TCP port a process listens on (Linux /proc), for a watcher that logs at warn level. */
function findListeningPort(pid: number): number | undefined {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return '';
          }
        })
        .filter((l) => l.startsWith('socket:['))
        .map((l) => l.slice(8, -1)),
    );
  } catch {
    return undefined;
  }
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // local_address st=0A (LISTEN) inode
    if (cols[3] === '0A' && cols[9] && inodes.has(cols[9])) {
      const hexPort = cols[1]?.split(':')[1];
      if (hexPort) return parseInt(hexPort, 16);
    }
  }
  return undefined;
}
