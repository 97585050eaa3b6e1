/**
 * Two-replica helpers for the e2e world: a config per replica (its own state directory, leader
 * election against a FakeLeaseApi through a kubeconfig), `sightline run` spawned per replica with
 * its POD_NAME, each replica's role read from its /healthz, the console's fencing log read from
 * its database, and a TCP proxy that can hold a replica's traffic to the console (a push on the
 * wire that arrives late).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { World } from './world.js';

const root = resolve(import.meta.dirname, '../..');

export interface Timings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface ReplicaProcess {
  name: string;
  child: ChildProcess;
  output: string[];
  httpPort: () => number | undefined;
  exited: Promise<number | null>;
}

export interface Role {
  role: 'leader' | 'standby';
  identity: string;
  holder: string;
  term?: number;
}

/** The world's config with this replica's state directory, console address and leader election. */
export function replicaConfig(
  world: World,
  name: string,
  kubeconfig: string,
  timings: Timings,
  consoleAddress = `127.0.0.1:${world.consolePort}`,
): string {
  const base = readFileSync(world.configFile, 'utf8');
  const text = base
    .replace(/^stateDir: .*$/m, `stateDir: "${join(world.dir, `state-${name}`)}"`)
    .replace(`address: "127.0.0.1:${world.consolePort}"`, `address: "${consoleAddress}"`);
  const file = join(world.dir, `config-${name}.yaml`);
  writeFileSync(
    file,
    `${text}leaderElection: { enabled: true, leaseName: sightline-e2e, namespace: sightline, kubeconfig: "${kubeconfig}", leaseDurationMs: ${timings.leaseDurationMs}, renewDeadlineMs: ${timings.renewDeadlineMs}, retryPeriodMs: ${timings.retryPeriodMs} }\n`,
  );
  return file;
}

/** `env`: the variables the config references (`World.env`). */
export function spawnReplica(
  name: string,
  configFile: string,
  env: Readonly<Record<string, string>>,
): ReplicaProcess {
  const child = spawn(process.execPath, [join(root, 'bin/sightline.js'), 'run', '--config', configFile], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      POD_NAME: name,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let port: number | undefined;
  // Whole lines only: a JSON log line may arrive in two chunks.
  const reader = (): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') continue;
        output.push(line);
        const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(line);
        if (m?.[1]) port = Number(m[1]);
      }
    };
  };
  child.stdout?.on('data', reader());
  child.stderr?.on('data', reader());
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { name, child, output, httpPort: () => port, exited };
}

export async function kill(r: ReplicaProcess): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGKILL');
  await r.exited;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: await res.text() };
}

/** The replica's role as its /healthz shows it (checks.leader.detail). */
export async function roleOf(r: ReplicaProcess): Promise<Role | undefined> {
  const port = r.httpPort();
  if (port === undefined) return undefined;
  const { body } = await get(port, '/healthz');
  const parsed = JSON.parse(body) as { checks?: { leader?: { detail?: Role } } };
  return parsed.checks?.leader?.detail;
}

export async function metricsOf(r: ReplicaProcess): Promise<string> {
  const port = r.httpPort();
  if (port === undefined) throw new Error(`${r.name} has no HTTP port yet`);
  return (await get(port, '/metrics')).body;
}

export interface FencedWrite {
  seq: number;
  holder: string;
  term: number;
  rpc: string;
  refused: number;
  /** The console's clock (the same machine's). */
  received_ms: number;
}

/** Every write the console accepted or refused under an epoch, in order. */
export function fencingLog(world: World): FencedWrite[] {
  const db = new Database(join(world.dir, 'console.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT seq, holder, term, rpc, refused, received_ms FROM fenced_writes ORDER BY seq')
      .all() as FencedWrite[];
  } finally {
    db.close();
  }
}

/** Writes accepted from holders other than `newHolder` after `newHolder`'s first accepted write. */
export function acceptedFromOthersAfter(log: FencedWrite[], newHolder: string): FencedWrite[] {
  const accepted = log.filter((w) => w.refused === 0);
  const first = accepted.findIndex((w) => w.holder === newHolder);
  if (first < 0) return [];
  return accepted.slice(first).filter((w) => w.holder !== newHolder);
}

/** A loopback TCP proxy to the console whose client-to-console bytes can be held and released. */
export class HoldingProxy {
  heldBytes = 0;
  private holding = false;
  private readonly held: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<HoldingProxy> {
    const ref: { proxy?: HoldingProxy } = {};
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      const proxy = ref.proxy;
      if (!proxy) {
        client.destroy();
        return;
      }
      proxy.sockets.add(client).add(upstream);
      upstream.pipe(client);
      client.on('data', (d: Buffer) => {
        if (proxy.holding) {
          proxy.heldBytes += d.length;
          proxy.held.push(() => upstream.write(d));
        } else upstream.write(d);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ref.proxy = new HoldingProxy(server, (server.address() as AddressInfo).port);
    return ref.proxy;
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    for (const send of this.held.splice(0)) send();
    this.holding = false;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
