/**
 * Leader take-over benchmark (`npm run bench -- leader`): two real `sightline run` replicas with
 * leader election at the DEFAULT timings (lease 15 s, renew deadline 10 s, retry 2 s) against the
 * Lease API emulator, the provider emulators and the reference console (the e2e world). Rounds of
 * kill -9 of whichever replica leads, at a random moment of its renewal cycle, with changes made
 * meanwhile; the killed replica is restarted as the new standby. Figures: take-over time (kill →
 * the standby's "became the leader" log line; target ≤ 17 s = lease + retry), kill → the console's
 * first accepted write from the new leader, changes lost at the console (console vs providers'
 * truth), writes accepted from an old leader after the new one's first; and a clean SIGTERM
 * hand-over (release: empty holder, 1 s lease). Progress goes to stderr; about 2-3 minutes.
 */
import { join } from 'node:path';
import type { BenchSection } from './report.js';
import { FakeLeaseApi } from '../src/leader/lease-emulator.js';
import { DEFAULT_ELECTION_TIMINGS } from '../src/leader/elector.js';
import { World, difference, eventually, liveSightings, truthSightings } from '../test/e2e/world.js';
import {
  acceptedFromOthersAfter,
  fencingLog,
  kill,
  replicaConfig,
  roleOf,
  spawnReplica,
} from '../test/e2e/replicas.js';
import type { ReplicaProcess } from '../test/e2e/replicas.js';

const KILL_ROUNDS = 3;
const T = DEFAULT_ELECTION_TIMINGS;

function progress(msg: string): void {
  process.stderr.write(`[bench/leader] ${msg}\n`);
}

async function pause(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function logTime(r: ReplicaProcess, msg: string, after: number): number | undefined {
  for (const line of r.output) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    const parsed = JSON.parse(line) as { time?: unknown };
    // pino writes ISO times here (src/runtime/logger.ts).
    const t = typeof parsed.time === 'string' ? Date.parse(parsed.time) : parsed.time;
    if (typeof t === 'number' && Number.isFinite(t) && t >= after) return t;
  }
  return undefined;
}

async function leads(r: ReplicaProcess): Promise<boolean> {
  return (await roleOf(r))?.role === 'leader';
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function run(): Promise<BenchSection> {
  const world = await World.start();
  const api = await FakeLeaseApi.start();
  const kubeconfig = api.kubeconfig(join(world.dir, 'kubeconfig'));
  const configs = {
    a: replicaConfig(world, 'a', kubeconfig, T),
    b: replicaConfig(world, 'b', kubeconfig, T),
  };
  const live: ReplicaProcess[] = [];
  const start = (name: 'a' | 'b'): ReplicaProcess => {
    const r = spawnReplica(`replica-${name}`, configs[name], world.env);
    live.push(r);
    return r;
  };
  const takeovers: number[] = [];
  const firstWrites: number[] = [];
  let lost = 0;
  let stale = 0;
  let changes = 0;
  const handovers: number[] = [];
  try {
    let leader = start('a');
    await eventually('replica-a leads', () => leads(leader), 90_000);
    let standbyName: 'a' | 'b' = 'b';
    let standby = start(standbyName);
    await eventually(
      'the standby reads the lease',
      async () => (await roleOf(standby))?.role === 'standby',
      90_000,
    );
    for (let round = 1; round <= KILL_ROUNDS; round++) {
      // A random moment of the leader's 2 s renewal cycle.
      await pause(3_000 + Math.floor(Math.random() * T.retryPeriodMs));
      const killedAt = Date.now();
      await kill(leader);
      for (let i = 0; i < 4; i++) {
        world.playStep(changes++);
        await pause(1_000);
      }
      await eventually('the standby leads', () => leads(standby), 60_000);
      const tookAt = logTime(standby, 'leader election: became the leader', killedAt) ?? Date.now();
      const identity = (await roleOf(standby))?.identity ?? '';
      await eventually(
        "the console accepted the new leader's first write",
        () => fencingLog(world).some((w) => w.holder === identity && w.refused === 0),
        60_000,
      );
      const first = fencingLog(world).find((w) => w.holder === identity && w.refused === 0);
      const firstAt = first?.received_ms ?? Date.now();
      takeovers.push(tookAt - killedAt);
      firstWrites.push(firstAt - killedAt);
      let missing: string[] = [];
      try {
        await eventually(
          'console equals truth',
          async () => {
            const [records, truth] = await Promise.all([world.records(), world.truth()]);
            missing = difference(truthSightings(truth), liveSightings(records));
            return (
              missing.length === 0 && difference(liveSightings(records), truthSightings(truth)).length === 0
            );
          },
          60_000,
        );
      } catch {
        // counted below
      }
      lost += missing.length;
      stale += acceptedFromOthersAfter(fencingLog(world), identity).length;
      progress(
        `round ${round}: take-over ${tookAt - killedAt} ms, first write ${firstAt - killedAt} ms, lost ${missing.length}`,
      );
      // The killed replica comes back as the standby.
      const killedName: 'a' | 'b' = standbyName === 'a' ? 'b' : 'a';
      leader = standby;
      standbyName = killedName;
      standby = start(killedName);
      await eventually(
        'the restarted replica stands by',
        async () => (await roleOf(standby))?.role === 'standby',
        90_000,
      );
    }
    // Clean shutdown: the leader releases the lease.
    await pause(3_000);
    const termAt = Date.now();
    leader.child.kill('SIGTERM');
    await eventually('the standby leads after SIGTERM', () => leads(standby), 60_000);
    const handoverMs =
      (logTime(standby, 'leader election: became the leader', termAt) ?? Date.now()) - termAt;
    handovers.push(handoverMs);
    progress(`SIGTERM hand-over ${handoverMs} ms`);
  } finally {
    await Promise.all(live.map((r) => kill(r)));
    await api.stop();
    await world.close();
  }
  const targetMs = T.leaseDurationMs + T.retryPeriodMs;
  const handoverMs = handovers[0] ?? Number.NaN;
  return {
    name: 'leader election (2 replicas, default timings 15 s / 10 s / 2 s)',
    figures: [
      {
        metric: `take-over after kill -9 of the leader, max of ${KILL_ROUNDS}`,
        value: Math.max(...takeovers),
        unit: 'ms',
        target: `≤ ${targetMs}`,
        pass: Math.max(...takeovers) <= targetMs,
      },
      { metric: 'take-over after kill -9, median', value: percentile(takeovers, 50), unit: 'ms' },
      {
        metric: "kill -9 → console accepted the new leader's first write, max",
        value: Math.max(...firstWrites),
        unit: 'ms',
      },
      { metric: 'changes made during the take-overs', value: changes, unit: 'changes' },
      { metric: 'changes lost at the console', value: lost, unit: 'changes', target: '0', pass: lost === 0 },
      {
        metric: "old leader's writes accepted after the new leader's first",
        value: stale,
        unit: 'writes',
        target: '0',
        pass: stale === 0,
      },
      {
        metric: 'hand-over on SIGTERM (lease released)',
        value: handoverMs,
        unit: 'ms',
        target: '≤ 4000',
        pass: handoverMs <= 4_000,
      },
    ],
    notes: [
      'take-over = the killed leader\'s kill → the standby\'s "became the leader" log line (same clock); the standby takes the lease when it expires by its own clock: 15 s after it last saw the lease change, plus up to one jittered retry.',
    ],
  };
}
