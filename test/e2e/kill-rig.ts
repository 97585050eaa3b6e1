/**
 * A rig for kill -9 tests of the real daemon: the reference console behind a HoldingProxy (so a test
 * can keep console writes in the outbox and count them there), a config file with the caller's
 * `providers:` section, and `sightline run` spawned on it (spawnReplica) as often as the test
 * restarts it, on the same state directory. Reads the outbox straight from the state database
 * (read only, beside the running daemon) and the console's records over gRPC.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fetchRecords, startReferenceConsole } from '../../src/console/index.js';
import type { ImageRecord, ReferenceConsole } from '../../src/console/index.js';
import { STATE_DB_FILE } from '../../src/state/database.js';
import { tempDir, until } from '../console/helpers.js';
import { HoldingProxy, kill, spawnReplica } from './replicas.js';
import type { ReplicaProcess } from './replicas.js';

const TOKEN = 'kill-rig-token-0123456789';

export interface OutboxEntry {
  seq: number;
  rpc: string;
  key: string;
  payload: string;
}

export class KillRig {
  private runs = 0;
  private watcher: ReplicaProcess | undefined;

  private constructor(
    private readonly dir: string,
    private readonly cleanup: () => void,
    private readonly console_: ReferenceConsole,
    readonly proxy: HoldingProxy,
    private readonly configFile: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  /** `providers`: the YAML lines under `providers:` (indented two spaces). */
  static async start(providers: string, env: Readonly<Record<string, string>> = {}): Promise<KillRig> {
    const t = tempDir('sl-kill-rig-');
    const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: ':memory:', token: TOKEN });
    const proxy = await HoldingProxy.start(console_.port);
    const tokenFile = join(t.dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const configFile = join(t.dir, 'config.yaml');
    writeFileSync(
      configFile,
      `tenant: { group: kill-group, issuer: "https://issuer.kill.invalid" }
providers:
${providers}
console: { address: "127.0.0.1:${proxy.port}", tls: { mode: plaintext }, tokenFile: "${tokenFile}", batchMaxDelayMs: 50 }
stateDir: "${join(t.dir, 'state')}"
http: { listen: "127.0.0.1:0" }
log: { level: info }
`,
    );
    return new KillRig(t.dir, t.cleanup, console_, proxy, configFile, env);
  }

  /** Spawns `sightline run` on the rig's config and state directory and waits for /readyz. */
  async startWatcher(): Promise<ReplicaProcess> {
    if (this.watcher) throw new Error('a watcher is already running');
    this.runs += 1;
    const w = spawnReplica(`kill-rig-${this.runs}`, this.configFile, this.env);
    this.watcher = w;
    await until(
      async () => {
        if (w.child.exitCode !== null) throw new Error(`watcher exited: ${w.output.slice(-20).join('\n')}`);
        const port = w.httpPort();
        if (port === undefined) return false;
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return res?.status === 200;
      },
      60_000,
      'the watcher to be ready',
    );
    return w;
  }

  /** SIGKILL now (synchronous: safe inside an emulator hook); `exited` settles when it is gone. */
  killNow(): ReplicaProcess {
    const w = this.watcher;
    if (!w) throw new Error('no watcher running');
    w.child.kill('SIGKILL');
    return w;
  }

  /** Waits until the killed (or running, then killed) watcher is gone. */
  async reap(): Promise<NodeJS.Signals | null> {
    const w = this.watcher;
    if (!w) return null;
    this.watcher = undefined;
    await kill(w);
    return w.child.signalCode;
  }

  /** Outbox rows (pending console writes) as the state database holds them now. */
  outbox(): OutboxEntry[] {
    const db = new Database(join(this.dir, 'state', STATE_DB_FILE), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT seq, rpc, key, payload FROM outbox ORDER BY seq').all() as OutboxEntry[];
    } finally {
      db.close();
    }
  }

  records(): Promise<ImageRecord[]> {
    return fetchRecords(this.console_.address, { token: TOKEN, plaintext: true });
  }

  async stop(): Promise<void> {
    await this.reap();
    await this.proxy.stop();
    await this.console_.stop();
    this.cleanup();
  }
}

/** The console's records of workload `uid` that it shows as current and not deleted. */
export function currentRecordsOf(records: readonly ImageRecord[], uid: string): ImageRecord[] {
  return records.filter((r) => r.workloads.some((w) => w.uid === uid && w.current && !w.deleted));
}
