import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../adapters/cloudrun/emulator/index.js';
import { demoProject } from '../../adapters/cloudrun/demo.js';
import { demoLambdaAccount, demoLambdaRegion } from '../../adapters/lambda/demo.js';
import { World, difference, eventually, liveSightings, truthSightings } from './world.js';

/** Per-change bound with the e2e intervals (task poll 0.5 s, CloudTrail poll 1 s, tail buffer 0, batch 0.1 s). */
const changeBoundMs = 10_000;

let world: World;
beforeAll(async () => {
  world = await World.start();
  world.startWatcher();
}, 60_000);
afterAll(async () => world.close());

async function converged(): Promise<{ missing: string[]; extra: string[] }> {
  const [records, truth] = await Promise.all([world.records(), world.truth()]);
  const live = liveSightings(records);
  const want = truthSightings(truth);
  return { missing: difference(want, live), extra: difference(live, want) };
}

async function expectConverged(what: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = { missing: [] as string[], extra: [] as string[] };
  await eventually(
    `${what}: console equals the providers' truth (last diff ${JSON.stringify(last)})`,
    async () => {
      last = await converged();
      return last.missing.length === 0 && last.extra.length === 0;
    },
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\nmissing: ${last.missing.join(', ')}\nextra: ${last.extra.join(', ')}`);
  });
  return Date.now() - started;
}

describe('sightline run, spawned as a user runs it, against the emulators and the reference console', () => {
  it('delivers the initial inventory of every provider with correct digests', async () => {
    await expectConverged('initial inventory', 30_000);
    const records = await world.records();
    const checkout = records.find(
      (r) => r.image.ref === 'us-docker.pkg.dev/demo-project-1/shop/checkout:1.4.0',
    );
    expect(checkout?.image.digest).toBe(digestOf('us-docker.pkg.dev/demo-project-1/shop/checkout:1.4.0'));
    const ledger = records.find(
      (r) =>
        r.image.ref === '111122223333.dkr.ecr.us-east-1.amazonaws.com/ledger:3.2.0' && r.image.digest !== '',
    );
    expect(ledger?.image.digest).toBe(
      world.ecs.fleet.digestOf('111122223333.dkr.ecr.us-east-1.amazonaws.com/ledger:3.2.0'),
    );
    expect(new Set(records.map((r) => r.cluster_name))).toEqual(
      new Set([
        `${demoProject}/us-central1`,
        `${demoProject}/europe-west1`,
        'payments',
        'web',
        `lambda/${demoLambdaAccount}/${demoLambdaRegion}`,
      ]),
    );
  }, 60_000);

  it('delivers a new image pushed to a Lambda function to the console with its digest', async () => {
    const imageUri = `${demoLambdaAccount}.dkr.ecr.${demoLambdaRegion}.amazonaws.com/thumbnailer:9.9.9`;
    const fn = world.lambda.fleet.updateFunctionCode({ name: 'thumbnailer', imageUri });
    const started = Date.now();
    await eventually('the pushed image with its digest in the console', async () =>
      (await world.records()).some((r) => r.image.ref === imageUri && r.image.digest === fn.digest),
    );
    expect(Date.now() - started).toBeLessThanOrEqual(changeBoundMs);
    await expectConverged('after the Lambda push', changeBoundMs);
  }, 30_000);

  it('delivers every kind of change in either provider within its bound', async () => {
    const timings: Array<{ change: string; ms: number }> = [];
    for (let step = 0; step < 18; step++) {
      const change = world.playStep(step);
      expect(change).not.toContain('step skipped');
      const ms = await expectConverged(change, changeBoundMs);
      timings.push({ change, ms });
    }
    process.stderr.write(
      `e2e change → console latencies:\n${timings.map((t) => `  ${String(t.ms).padStart(6)} ms  ${t.change}`).join('\n')}\n`,
    );
    expect(Math.max(...timings.map((t) => t.ms))).toBeLessThanOrEqual(changeBoundMs);
  }, 240_000);

  it('shows every cluster in clusters list with a moving LAST SEEN and observer activity', async () => {
    await eventually('activity for every cluster', async () => {
      const clusters = await world.clusters();
      return clusters.length === 5 && clusters.every((c) => c.activity.some((a) => a.profile === 'observer'));
    });
    const first = await world.clusters();
    await new Promise((r) => setTimeout(r, 1_500));
    const second = await world.clusters();
    for (const c of second) {
      const before = first.find((f) => f.registration.id === c.registration.id);
      expect(c.last_seen_ms).toBeGreaterThan(before?.last_seen_ms ?? 0);
      expect(Date.now() - c.last_seen_ms).toBeLessThan(5_000);
      expect(c.registration.agent_version).toMatch(/^\d+\.\d+\.\d+/);
    }
  }, 30_000);

  it('answers /healthz, /readyz and /metrics on the running process', async () => {
    let port: number | undefined;
    await eventually('HTTP port logged', () => {
      port = world.watcherPort();
      return port !== undefined;
    });
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /sightline_api_calls_total\{provider="ECS",operation="ListTasks",outcome="ok"\} [1-9]/,
    );
    expect(metrics).toMatch(/sightline_watch_events_total\{[^}]*type="ADDED"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/sightline_console_push_total\{[^}]*outcome="ok"[^}]*\} [1-9]/);
    expect(metrics).not.toContain(world.token);
  }, 30_000);

  it('removes from the console what was deleted while the watcher was stopped (tombstone by relist)', async () => {
    expect(await world.stopWatcher('SIGTERM')).toBe(0);
    world.run.fleet.deleteService(demoProject, 'us-central1', 'catalog', { silent: true });
    world.ecs.fleet.deleteService({ cluster: 'payments', service: 'ledger' });
    world.startWatcher();
    await expectConverged('after restart', 30_000);
    const live = [...liveSightings(await world.records())];
    expect(live.some((s) => s.startsWith(`${demoProject}/us-central1/Deployment/catalog@`))).toBe(false);
    expect(live.some((s) => s.startsWith('payments/Deployment/ledger@'))).toBe(false);
  }, 90_000);
});
