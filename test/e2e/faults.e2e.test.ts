/**
 * The fault suite: the real `sightline run` process under console outages, repeated kill -9,
 * provider throttling storms, 5xx, cut and suppressed tails, expired credentials, fuzzed audit
 * entries and bad configs. After each scenario the console must equal the providers' truth (an
 * inventory of the emulators): the number of changes lost must be zero. A summary table of what
 * was tried and what was lost is printed at the end.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import fc from 'fast-check';
import { demoProject } from '../../adapters/cloudrun/demo.js';
import { demoAwsRegion } from '../../adapters/ecs/demo.js';
import { World, difference, eventually, liveSightings, truthSightings } from './world.js';

interface Row {
  scenario: string;
  tried: string;
  lost: number;
  note: string;
}
const summary: Row[] = [];
let world: World | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

afterAll(() => {
  const lines = [
    '',
    'fault suite summary',
    `${'scenario'.padEnd(34)} ${'tried'.padEnd(58)} ${'lost'.padStart(4)}  note`,
    ...summary.map(
      (r) => `${r.scenario.padEnd(34)} ${r.tried.padEnd(58)} ${String(r.lost).padStart(4)}  ${r.note}`,
    ),
    `total lost: ${summary.reduce((n, r) => n + r.lost, 0)}`,
    '',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
});

/** Waits until the console equals the truth; returns how many truth sightings are still missing at the deadline. */
async function lostAfterConvergence(
  w: World,
  timeoutMs = 30_000,
): Promise<{ lost: number; extra: number; ms: number }> {
  const started = Date.now();
  let missing: string[] = [];
  let extra: string[] = [];
  try {
    await eventually(
      'console equals truth',
      async () => {
        const [records, truth] = await Promise.all([w.records(), w.truth()]);
        const live = liveSightings(records);
        const want = truthSightings(truth);
        missing = difference(want, live);
        extra = difference(live, want);
        return missing.length === 0 && extra.length === 0;
      },
      timeoutMs,
    );
  } catch {
    process.stderr.write(`not converged: missing ${missing.join(', ')}; extra ${extra.join(', ')}\n`);
  }
  return { lost: missing.length, extra: extra.length, ms: Date.now() - started };
}

async function pause(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('fault suite (real process, emulated providers, reference console)', () => {
  it('console outage during changes: everything made meanwhile arrives after it returns', async () => {
    world = await World.start();
    world.startWatcher();
    expect((await lostAfterConvergence(world)).lost).toBe(0);
    await world.stopConsole();
    const steps = 9;
    for (let i = 0; i < steps; i++) {
      world.playStep(i);
      await pause(400);
    }
    await pause(2_000);
    await world.restartConsole();
    const r = await lostAfterConvergence(world);
    summary.push({
      scenario: 'console outage',
      tried: `${steps} changes while the console was down`,
      lost: r.lost,
      note: `converged ${r.ms} ms after it returned`,
    });
    expect(r.lost).toBe(0);
    expect(r.extra).toBe(0);
  }, 120_000);

  it('repeated kill -9 at random moments: state converges, nothing missed', async () => {
    world = await World.start();
    world.startWatcher();
    await lostAfterConvergence(world);
    const rounds = 6;
    let step = 0;
    for (let round = 0; round < rounds; round++) {
      world.playStep(step++);
      world.playStep(step++);
      await pause(Math.floor(Math.random() * 1_500));
      await world.stopWatcher('SIGKILL');
      world.playStep(step++); // a change while it is dead
      world.startWatcher();
      await pause(300 + Math.floor(Math.random() * 1_200));
    }
    const r = await lostAfterConvergence(world, 45_000);
    summary.push({
      scenario: 'kill -9 and restart',
      tried: `${rounds} kills, ${step} changes (${rounds} while dead)`,
      lost: r.lost,
      note: `converged ${r.ms} ms after the last restart`,
    });
    expect(r.lost).toBe(0);
    expect(r.extra).toBe(0);
  }, 180_000);

  it('provider throttling storms, 5xx, cut and suppressed tails, expired credentials: no crash, convergence', async () => {
    world = await World.start();
    const w = world;
    const proc = w.startWatcher();
    await lostAfterConvergence(w);
    w.ecs.faults.throttleStorm(4_000);
    w.ecs.faults.serverErrors(8);
    w.run.faults.failNext('google.cloud.run.v2.Services/ListServices', grpcStatus.UNAVAILABLE, 3);
    w.run.faults.failNext('google.cloud.run.v2.Revisions/ListRevisions', grpcStatus.RESOURCE_EXHAUSTED, 2);
    let step = 0;
    w.playStep(step++);
    w.run.faults.cutTails(grpcStatus.UNAVAILABLE);
    w.playStep(step++);
    w.run.faults.suppressTail(3);
    w.playStep(step++);
    w.ecs.faults.expireCredentials();
    await pause(1_500);
    w.playStep(step++);
    w.ecs.faults.restoreCredentials();
    w.playStep(step++);
    await pause(4_000);
    w.ecs.faults.clear();
    expect(proc.child.exitCode).toBeNull();
    const r = await lostAfterConvergence(w, 45_000);
    summary.push({
      scenario: 'provider faults',
      tried: `throttle storm 4 s, 8×5xx, 5 gRPC errors, tail cut + suppression, expired creds; ${step} changes`,
      lost: r.lost,
      note: `process alive; converged in ${r.ms} ms`,
    });
    expect(r.lost).toBe(0);
    expect(proc.child.exitCode).toBeNull();
    const port = w.watcherPort();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/sightline_relists_total\{source="cloudrun\/[^"]+",cause="gap"\} [1-9]/);
  }, 180_000);

  it('fuzzed audit entries (fast-check): counted and skipped, never a crash, real changes still arrive', async () => {
    world = await World.start();
    const w = world;
    const proc = w.startWatcher();
    await lostAfterConvergence(w);
    const entries = fc.sample(
      fc.oneof(
        fc.object({ maxDepth: 4 }),
        fc.record({
          logName: fc.constantFrom(`projects/${demoProject}/logs/cloudaudit.googleapis.com%2Factivity`, 'x'),
          resource: fc.record({
            type: fc.constantFrom('cloud_run_revision', 'cloud_run_job', 'gce_instance'),
            labels: fc.dictionary(fc.string(), fc.string()),
          }),
          protoPayload: fc.record({
            methodName: fc.string(),
            serviceName: fc.constantFrom('run.googleapis.com', ''),
            resourceName: fc.string(),
            response: fc.object(),
          }),
        }),
      ),
      150,
    );
    for (const e of entries) w.run.fleet.writeAudit(demoProject, JSON.parse(JSON.stringify(e)) as never);
    const raws = fc.sample(
      fc.oneof(
        fc.json(),
        fc.string(),
        fc
          .record({
            eventName: fc.constantFrom('RunTask', 'StopTask', 'UpdateService', 'DeleteCluster'),
            eventSource: fc.constant('ecs.amazonaws.com'),
            requestParameters: fc.object(),
            responseElements: fc.oneof(fc.constant(null), fc.object()),
          })
          .map((o) => JSON.stringify(o)),
      ),
      150,
    );
    for (const raw of raws)
      w.ecs.cloudTrail.recordRaw(raw, { region: demoAwsRegion, eventName: 'RunTask', readOnly: false });
    for (let i = 0; i < 4; i++) w.playStep(i);
    const r = await lostAfterConvergence(w, 45_000);
    expect(proc.child.exitCode).toBeNull();
    const metrics = await (await fetch(`http://127.0.0.1:${w.watcherPort()}/metrics`)).text();
    const skipped = [
      ...metrics.matchAll(
        /sightline_audit_entries_total\{provider="(?:CLOUD_RUN|ECS)",outcome="(?:malformed|unknown|ignored)"\} (\d+)/g,
      ),
    ].reduce((n, m) => n + Number(m[1]), 0);
    summary.push({
      scenario: 'fuzzed audit entries',
      tried: `${entries.length} Cloud Audit + ${raws.length} CloudTrail records, 4 changes`,
      lost: r.lost,
      note: `${skipped} counted as malformed/unknown/ignored; no crash`,
    });
    expect(skipped).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
  }, 120_000);

  it('bad configs: sightline run exits 2 naming the field, and starts nothing', () => {
    const root = resolve(import.meta.dirname, '../..');
    const dir = mkdtempSync(join(tmpdir(), 'sightline-badcfg-'));
    const cases: Array<[string, string, string]> = [
      [
        'missing console',
        'tenant: { group: g, issuer: "https://i.example.com" }\nproviders: { ecs: { account: "123456789012", regions: [us-east-1] } }\nstateDir: /tmp/x\n',
        'console',
      ],
      [
        'wrong type',
        'tenant: { group: g, issuer: "https://i.example.com" }\nproviders: { ecs: { account: "123456789012", regions: us-east-1 } }\nconsole: { address: "c:1", tokenFile: /etc/hostname }\nstateDir: /tmp/x\n',
        'providers.ecs.regions',
      ],
      [
        'unknown key',
        'tenant: { group: g, issuer: "https://i.example.com", colour: red }\nproviders: { ecs: { account: "123456789012", regions: [us-east-1] } }\nconsole: { address: "c:1", tokenFile: /etc/hostname }\nstateDir: /tmp/x\n',
        'tenant: unknown key: colour',
      ],
      [
        'bad region',
        'tenant: { group: g, issuer: "https://i.example.com" }\nproviders: { cloudRun: { projects: [acme-prod-1], regions: [moon] } }\nconsole: { address: "c:1", tokenFile: /etc/hostname }\nstateDir: /tmp/x\n',
        'providers.cloudRun.regions[0]',
      ],
      [
        'bad URL',
        'tenant: { group: g, issuer: "https://i.example.com" }\nproviders: { ecs: { account: "123456789012", regions: [us-east-1], endpoints: { ecs: "not a url" } } }\nconsole: { address: "c:1", tokenFile: /etc/hostname }\nstateDir: /tmp/x\n',
        'providers.ecs.endpoints.ecs',
      ],
      [
        'unreadable token file',
        'tenant: { group: g, issuer: "https://i.example.com" }\nproviders: { ecs: { account: "123456789012", regions: [us-east-1] } }\nconsole: { address: "c:1", tokenFile: /nonexistent/token }\nstateDir: /tmp/x\n',
        'console.tokenFile',
      ],
    ];
    let rejected = 0;
    for (const [name, yaml, field] of cases) {
      const file = join(dir, `${name.replace(/ /g, '-')}.yaml`);
      writeFileSync(file, yaml);
      const r = spawnSync(process.execPath, [join(root, 'bin/sightline.js'), 'run', '--config', file], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, name).toBe(2);
      expect(r.stderr, name).toContain(field);
      expect(r.stdout, name).not.toContain('operations server listening');
      rejected += 1;
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    summary.push({
      scenario: 'bad configs',
      tried: `${cases.length} broken config files`,
      lost: 0,
      note: `${rejected} rejected with exit 2 naming the field`,
    });
  }, 120_000);
});
