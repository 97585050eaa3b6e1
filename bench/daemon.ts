/**
 * The whole daemon at scale: `sightline run` as its own process watching 100,000 ECS tasks (20
 * clusters × 50 services × 100 tasks, 300 task definitions, 200 container instances) and 5,000
 * Cloud Run revisions (2,500 services with two serving revisions each, 5 regions), pushing to the
 * reference console. Side by side in the same run, a periodic full poll every 60 s (the usual
 * inventory tools' approach: everything listed and described again, with our own efficient lister,
 * which flatters it). Prints: time to ready, RSS, CPU seconds per hour at steady state, API calls
 * per hour for both approaches, and detection latency p50/p99 for both.
 *
 * Budget: the watcher runs at `budget.fraction: 1` (100 % of the documented rates) so the initial
 * list of 100,000 tasks fits the benchmark; the full poller runs unlimited (at this size a full
 * poll needs more calls than the account's ECS rate limit allows in 60 s, which the report shows).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { startCloudRunEmulator } from '../adapters/cloudrun/emulator/index.js';
import { startEcsEmulator } from '../adapters/ecs/emulator/index.js';
import { startReferenceConsole } from '../src/console/index.js';
import { loadConfigFile } from '../src/config/load.js';
import { inventoryOnce } from '../src/daemon/once.js';
import { createLogger } from '../src/runtime/logger.js';
import { createRegistry } from '../src/runtime/metrics.js';
import type { Registry } from '../src/runtime/metrics.js';
import type { BenchFigure, BenchSection } from './report.js';
import { imageEnv } from './image-env.js';

const root = resolve(import.meta.dirname, '..');
const project = 'bench-project-1';
const regions = ['us-central1', 'europe-west1', 'asia-east1', 'us-east4', 'europe-north1'];
const servicesPerRegion = 500;
const account = '111122223333';
const awsRegion = 'us-east-1';
const token = 'bench-token';
const steadyWindowMs = 60_000;
const fullPollIntervalMs = 60_000;
const changes = 12;
/** The Docker image's runtime ENV (heap cap, young generation, allocator), as deployed. */
const watcherImageEnv = imageEnv(join(root, 'Dockerfile'));
/** BENCH_WATCHER_NODE_OPTIONS overrides the image's NODE_OPTIONS for experiments. */
/** The ECS emulator's static keys (the config references them: a secret takes no inline default). */
const benchEmulatorKeys = { BENCH_AWS_KEY: 'AKIDBENCH', BENCH_AWS_SECRET: 'bench-secret' };
const watcherNodeOptions = process.env['BENCH_WATCHER_NODE_OPTIONS'] ?? watcherImageEnv['NODE_OPTIONS'] ?? '';
const changeSpacingMs = 12_000;
const rssSampleEveryMs = 5_000;

function log(msg: string): void {
  process.stderr.write(`bench daemon: ${msg}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function metricSum(registryText: string, name: string, filter: RegExp = /.*/): Promise<number> {
  let sum = 0;
  for (const line of registryText.split('\n')) {
    if (!line.startsWith(name) || !filter.test(line)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

async function registrySum(registry: Registry, name: string): Promise<number> {
  return metricSum(await registry.metrics(), name);
}

export async function run(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'sightline-bench-daemon-'));
  log('seeding 100,000 ECS tasks and 5,000 Cloud Run revisions');
  const cr = await startCloudRunEmulator({ projects: { [project]: regions } });
  const ecs = await startEcsEmulator({
    account,
    region: awsRegion,
    throttling: { enabled: false },
    recordReadEvents: false,
  });
  for (const region of regions) {
    for (let i = 0; i < servicesPerRegion; i++) {
      const a = cr.fleet.deployService(
        project,
        region,
        `svc-${i}`,
        `us-docker.pkg.dev/${project}/app/svc-${i}:1`,
        { silent: true },
      );
      const b = cr.fleet.rollService(
        project,
        region,
        `svc-${i}`,
        `us-docker.pkg.dev/${project}/app/svc-${i}:2`,
        { silent: true },
      );
      cr.fleet.splitTraffic(
        project,
        region,
        `svc-${i}`,
        [
          { revision: a.revisionShort, percent: 50 },
          { revision: b.revisionShort, percent: 50 },
        ],
        { silent: true },
      );
    }
  }
  ecs.fleet.generate({
    clusters: 20,
    servicesPerCluster: 50,
    tasksPerService: 100,
    taskDefinitions: 300,
    containerInstancesPerCluster: 10,
  });
  const consoleDb = join(dir, 'console.db');
  const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: consoleDb, token });
  writeFileSync(join(dir, 'token'), token);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    `tenant: { group: bench, issuer: "https://issuer.bench.invalid" }
providers:
  cloudRun:
    projects: [${project}]
    regions: [${regions.join(', ')}]
    credentials: { source: none }
    endpoints: { run: "127.0.0.1:${cr.runEndpoint.port}", logging: "127.0.0.1:${cr.loggingEndpoint.port}", runV1: "${cr.runV1BaseUrl}", insecure: true }
  ecs:
    account: "${account}"
    regions: [${awsRegion}]
    credentials: { source: static, accessKeyId: "\${BENCH_AWS_KEY}", secretAccessKey: "\${BENCH_AWS_SECRET}" }
    endpoints: { ecs: "${ecs.endpoint}", cloudtrail: "${ecs.endpoint}" }
budget: { fraction: 1 }
console: { address: "127.0.0.1:${console_.port}", tls: { mode: plaintext }, tokenFile: "${join(dir, 'token')}" }
stateDir: "${join(dir, 'state')}"
http: { listen: "127.0.0.1:0" }
log: { level: warn }
`,
  );

  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'bin/sightline.js'), 'run', '--config', configFile], {
    cwd: root,
    // As deployed: the Docker image's ENV (NODE_ENV, NODE_OPTIONS, allocator settings).
    env: {
      ...process.env,
      ...benchEmulatorKeys,
      ...watcherImageEnv,
      NODE_OPTIONS: watcherNodeOptions,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let port: number | undefined;
  let lastOutput = '';
  child.once('exit', (code, signal) => {
    if (code !== 0) log(`the watcher exited (code ${code}, signal ${signal}): ${lastOutput.slice(-800)}`);
  });
  const watchOutput = (chunk: Buffer): void => {
    lastOutput = (lastOutput + chunk.toString()).slice(-4000);
    const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(chunk.toString());
    if (m?.[1]) port = Number(m[1]);
  };
  child.stdout.on('data', watchOutput);
  child.stderr.on('data', watchOutput);
  const metricsText = async (): Promise<string> => {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the watcher died (code ${child.exitCode}, signal ${child.signalCode})`);
    return (await fetch(`http://127.0.0.1:${port ?? 0}/metrics`)).text();
  };
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  try {
    // Find the HTTP port: the watcher logs it at info; at warn we probe its listening sockets.
    while (port === undefined) {
      port = findListeningPort(child.pid ?? 0);
      if (port === undefined) await sleep(200);
      if (Date.now() - started > 60_000) throw new Error('watcher did not open its HTTP port');
    }
    log(`watcher up (pid ${child.pid}, metrics on ${port}); waiting for the first list of every source`);
    for (;;) {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() - started > 600_000) throw new Error('watcher not ready after 10 minutes');
      await sleep(500);
    }
    const readyMs = Date.now() - started;
    log(`ready after ${(readyMs / 1000).toFixed(1)} s; waiting for the console to have every workload`);
    const db = new Database(consoleDb, { readonly: true, fileMustExist: true });
    const consoleCount = (): number =>
      (db.prepare('SELECT count(*) AS n FROM workloads WHERE deleted_ms IS NULL').get() as { n: number }).n;
    while (consoleCount() < 100_000 + 5_000) {
      if (Date.now() - started > 900_000)
        throw new Error(`console has ${consoleCount()} workloads after 15 minutes`);
      await sleep(1_000);
    }
    const inConsoleMs = Date.now() - started;
    figures.push({ metric: 'time to ready (first list of every source)', value: readyMs / 1000, unit: 's' });
    figures.push({
      metric: 'time until the console holds every workload',
      value: inConsoleMs / 1000,
      unit: 's',
    });
    figures.push({ metric: 'workloads in the console', value: consoleCount(), unit: 'workloads' });

    // Side by side: the periodic full poll (fresh adapters each time, unlimited budget).
    const base = loadConfigFile(configFile, { env: { ...process.env, ...benchEmulatorKeys } });
    const pollConfig = { ...base, budget: { fraction: 1_000 } };
    const pollRegistry = createRegistry(false);
    const pending = new Map<string, { t0: number; kind: 'ecs' | 'cloudrun' }>();
    const fullPollLatencies: number[] = [];
    let fullPolls = 0;
    let fullPollMs = 0;
    let stopPolling = false;
    const poller = (async () => {
      while (!stopPolling) {
        const t = Date.now();
        const inv = await inventoryOnce(pollConfig, {
          logger: createLogger({ level: 'silent', pretty: false }),
          registry: pollRegistry,
          agentVersion: 'full-poll',
        });
        fullPolls += 1;
        fullPollMs += Date.now() - t;
        const seen = new Set<string>();
        for (const o of inv.objects)
          if (o.kind === 'workload') seen.add(o.workload.kind === 'Pod' ? o.workload.uid : o.workload.name);
        for (const [id, p] of pending) {
          if (seen.has(id)) {
            fullPollLatencies.push(Date.now() - p.t0);
            pending.delete(id);
          }
        }
        const wait = fullPollIntervalMs - (Date.now() - t);
        for (let waited = 0; waited < wait && !stopPolling; waited += 500) await sleep(500);
      }
    })();

    await sleep(5_000);
    log(`steady state: measuring CPU, RSS and API calls for ${steadyWindowMs / 1000} s`);
    const m0 = await metricsText();
    const cpu0 = await metricSum(m0, 'sightline_process_cpu_seconds_total');
    const calls0 = await metricSum(m0, 'sightline_api_calls_total');
    const poll0 = await registrySum(pollRegistry, 'sightline_api_calls_total');
    const ecsDescribe0 = await metricSum(
      m0,
      'sightline_api_calls_total',
      /provider="ECS",operation="Describe/,
    );
    // RSS sampled through the window: the figure is the largest sample, not a lucky one.
    const rssSamplesMb: number[] = [];
    for (let waited = 0; waited < steadyWindowMs; waited += rssSampleEveryMs) {
      await sleep(rssSampleEveryMs);
      rssSamplesMb.push(
        (await metricSum(await metricsText(), 'sightline_process_resident_memory_bytes')) / 1048576,
      );
    }
    const m1 = await metricsText();
    const hour = 3_600_000 / steadyWindowMs;
    const cpuPerHour = ((await metricSum(m1, 'sightline_process_cpu_seconds_total')) - cpu0) * hour;
    const callsPerHour = ((await metricSum(m1, 'sightline_api_calls_total')) - calls0) * hour;
    const pollCallsPerHour = ((await registrySum(pollRegistry, 'sightline_api_calls_total')) - poll0) * hour;
    const describePerHour =
      ((await metricSum(m1, 'sightline_api_calls_total', /provider="ECS",operation="Describe/)) -
        ecsDescribe0) *
      hour;
    const rssMb = Math.max(...rssSamplesMb);
    const rssMeanMb = rssSamplesMb.reduce((a, b) => a + b, 0) / rssSamplesMb.length;
    const peakRssMb = peakRssOf(child.pid ?? 0);
    const heapMb = (await metricSum(m1, 'sightline_nodejs_heap_size_used_bytes')) / 1024 / 1024;
    figures.push({
      metric: 'watcher RSS at steady state (100,000 tasks + 5,000 revisions), largest of 12 samples',
      value: Math.round(rssMb),
      unit: 'MB',
      target: '≤ 300',
      pass: rssMb <= 300,
    });
    figures.push({
      metric: 'watcher RSS at steady state, mean of the samples',
      value: Math.round(rssMeanMb),
      unit: 'MB',
    });
    if (peakRssMb !== undefined)
      figures.push({
        metric: 'watcher peak RSS since start (VmHWM, includes the first list)',
        value: Math.round(peakRssMb),
        unit: 'MB',
      });
    figures.push({ metric: 'watcher V8 heap used', value: Math.round(heapMb), unit: 'MB' });
    figures.push({
      metric: 'watcher CPU at steady state',
      value: Math.round(cpuPerHour),
      unit: 'CPU s / hour',
    });
    figures.push({
      metric: 'watcher API calls per hour (steady state)',
      value: Math.round(callsPerHour),
      unit: 'calls/h',
    });
    figures.push({
      metric: 'watcher ECS Describe calls per hour (steady state, no change)',
      value: Math.round(describePerHour),
      unit: 'calls/h',
    });
    figures.push({
      metric: 'full poll every 60 s: API calls per hour (same run)',
      value: Math.round(pollCallsPerHour),
      unit: 'calls/h',
    });

    log(`detection latency: ${changes} changes, one every ${changeSpacingMs / 1000} s`);
    const watcherLatencies: number[] = [];
    const consoleHasTask = db.prepare('SELECT 1 FROM workloads WHERE uid = ? AND deleted_ms IS NULL');
    const consoleHasName = db.prepare('SELECT 1 FROM workloads WHERE name = ? AND deleted_ms IS NULL');
    const watching: Array<{ id: string; kind: 'ecs' | 'cloudrun'; t0: number }> = [];
    for (let i = 0; i < changes; i++) {
      const t0 = Date.now();
      if (i % 2 === 0) {
        const r = ecs.fleet.replaceServiceTasks({
          cluster: `cluster-${i % 20}`,
          service: `svc-${i}`,
          count: 1,
        });
        const id = r.started[0];
        if (id) {
          watching.push({ id, kind: 'ecs', t0 });
          pending.set(id, { t0, kind: 'ecs' });
        }
      } else {
        const r = cr.fleet.rollService(
          project,
          regions[i % regions.length] ?? 'us-central1',
          `svc-${i}`,
          `us-docker.pkg.dev/${project}/app/svc-${i}:3`,
        );
        watching.push({ id: r.revisionShort, kind: 'cloudrun', t0 });
        pending.set(r.revisionShort, { t0, kind: 'cloudrun' });
      }
      const until = Date.now() + changeSpacingMs;
      while (Date.now() < until) {
        for (let k = watching.length - 1; k >= 0; k--) {
          const w = watching[k];
          if (!w) continue;
          const found = w.kind === 'ecs' ? consoleHasTask.get(w.id) : consoleHasName.get(w.id);
          if (found) {
            watcherLatencies.push(Date.now() - w.t0);
            watching.splice(k, 1);
          }
        }
        await sleep(100);
      }
    }
    const deadline = Date.now() + 120_000;
    while ((watching.length > 0 || pending.size > 0) && Date.now() < deadline) {
      for (let k = watching.length - 1; k >= 0; k--) {
        const w = watching[k];
        if (w && (w.kind === 'ecs' ? consoleHasTask.get(w.id) : consoleHasName.get(w.id))) {
          watcherLatencies.push(Date.now() - w.t0);
          watching.splice(k, 1);
        }
      }
      await sleep(100);
    }
    stopPolling = true;
    await poller;
    db.close();
    figures.push({
      metric: 'watcher detection latency p50 (change → console)',
      value: percentile(watcherLatencies, 50) / 1000,
      unit: 's',
    });
    figures.push({
      metric: 'watcher detection latency p99 (change → console)',
      value: percentile(watcherLatencies, 99) / 1000,
      unit: 's',
    });
    figures.push({
      metric: 'full poll detection latency p50 (change → poll that saw it)',
      value: percentile(fullPollLatencies, 50) / 1000,
      unit: 's',
    });
    figures.push({
      metric: 'full poll detection latency p99',
      value: percentile(fullPollLatencies, 99) / 1000,
      unit: 's',
    });
    figures.push({
      metric: 'full poll duration (mean)',
      value: Math.round(fullPollMs / Math.max(1, fullPolls)) / 1000,
      unit: 's',
    });
    notes.push(
      `watcher started with the Docker image's ENV: NODE_OPTIONS="${watcherNodeOptions}", ${Object.entries(
        watcherImageEnv,
      )
        .filter(([k]) => k.startsWith('MALLOC_'))
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
      `changes detected: watcher ${watcherLatencies.length}/${changes}, full poll ${fullPollLatencies.length}/${changes}; ECS changes are scheduler task replacements (no CloudTrail event), Cloud Run changes are revision roll-outs`,
      `the watcher runs at budget.fraction 1 (100 % of the documented ECS/Cloud Run rates); at the default 25 % the cheap ListTasks sweep of 1,000 pages takes about 4× longer, and ECS detection latency grows accordingly`,
      `a full poll of this fleet costs about ${Math.round(pollCallsPerHour / 60)} calls per minute; ECS's cluster-resource bucket refills 20 calls/s (1,200 per minute), shared with everything else the customer runs`,
    );
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await console_.stop();
    await Promise.all([cr.stop(), ecs.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'Whole daemon: 100,000 ECS tasks + 5,000 Cloud Run revisions', figures, notes };
}

/** A process's peak resident set (VmHWM in /proc/<pid>/status), in MB; undefined off Linux. */
function peakRssOf(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
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
