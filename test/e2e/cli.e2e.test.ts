/**
 * The commands a user types, spawned as processes: `sightline once` against the emulators,
 * `sightline demo` (what `npm start` runs) with `clusters list` / `records list` against the
 * console it starts; `--help` naming every registered provider.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { providers } from '../../adapters/index.js';
import { World, eventually } from './world.js';

const root = resolve(import.meta.dirname, '../..');
const sightline = resolve(root, 'bin/sightline.js');

/** Runs the CLI without blocking this process (the emulators answer from it). */
function runCli(
  args: string[],
  env: Readonly<Record<string, string>>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [sightline, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (status) => resolveRun({ status, stdout, stderr }));
  });
}

describe('sightline once (an ad-hoc inventory)', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.start();
  }, 60_000);
  afterAll(async () => world.close());

  it('prints every cluster and workload with digests as JSON, and the same as a table', async () => {
    const json = await runCli(['once', '--config', world.configFile, '--output', 'json'], world.env);
    expect(json.status, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as {
      objects: Array<{ kind: string; cluster?: { name: string } }>;
      errors: unknown[];
    };
    expect(out.errors).toEqual([]);
    const clusters = out.objects.filter((o) => o.kind === 'cluster').map((o) => o.cluster?.name);
    expect(new Set(clusters)).toEqual(
      new Set([
        'demo-project-1/us-central1',
        'demo-project-1/europe-west1',
        'payments',
        'web',
        'lambda/111122223333/us-east-1',
      ]),
    );
    const truth = await world.truth();
    expect(out.objects.length).toBe(truth.length);

    const table = await runCli(['once', '--config', world.configFile], world.env);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/CLUSTER\s+KIND\s+NAMESPACE\s+NAME\s+CONTAINER\s+IMAGE\s+DIGEST/);
    expect(table.stdout).toMatch(/checkout:1\.4\.0\s+sha256:[0-9a-f]{12}/);
    expect(table.stdout).toContain('5 cluster(s)');
  }, 120_000);

  it('exits 1 naming the source it could not list, and still prints the rest', async () => {
    await world.ecs.stop();
    const r = await runCli(['once', '--config', world.configFile, '--output', 'json'], world.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/could not list ecs\//);
    const out = JSON.parse(r.stdout) as { objects: Array<{ kind: string }> };
    expect(out.objects.some((o) => o.kind === 'workload')).toBe(true);
  }, 180_000);
});

describe('sightline demo (npm start)', () => {
  it('shows the live clusters list within 15 s, answers clusters/records list, and stops cleanly', async () => {
    const child = spawn(
      process.execPath,
      // --duration is only a safety net: the test stops the demo itself once the CLI checks are done,
      // so a slow CLI start on a loaded machine cannot outlive the demo.
      [sightline, 'demo', '--duration', '120', '--step', '2', '--no-redraw'],
      {
        cwd: root,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const started = Date.now();
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    await eventually(
      'a clusters table with observer activity',
      () =>
        /NAME\s+PROVIDER\s+REGION\s+AGENT VERSION\s+LAST SEEN\s+ACTIVITY/.test(out) &&
        /demo-project-1\/us-central1\s+CLOUD_RUN\s+\S+\s+\S+\s+\d+[smhd]\s+observer:\d+s/.test(out),
      15_000,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    // npm start watches through the pushed feeds (Pub/Sub for Cloud Run, SQS for ECS).
    expect(out).toMatch(/Cloud Run \([^)]*Pub\/Sub feed\)/);
    expect(out).toMatch(/ECS \([^)]*pushed events/);
    // The demo's table is read from the console: once the ECS row shows activity there too,
    // `clusters list` below must show it. ECS loads its SDK after Cloud Run, so its first activity
    // can reach the console a heartbeat or two later (what the 15 s promise covers is the table).
    await eventually(
      'observer activity on the ECS rows',
      () => /payments\s+ECS\s+us-east-1\s+\S+\s+\d+[smhd]\s+observer:\d+s/.test(out),
      30_000,
    );
    // The third provider (Lambda, through its pushed events too) shows in the same table.
    await eventually(
      'observer activity on the Lambda row',
      () =>
        /lambda\/111122223333\/us-east-1\s+LAMBDA\s+us-east-1\s+\S+\s+\d+[smhd]\s+observer:\d+s/.test(out),
      30_000,
    );
    for (const name of ['demo-project-1/us-central1', 'demo-project-1/europe-west1', 'payments', 'web'])
      expect(out).toContain(name);
    expect(out).toMatch(/ADDED\s+\S+\s+\S+\s+\S+\s+\S+@sha256:[0-9a-f]{12}/);

    const port = /console\s+127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    expect(port).toBeDefined();
    const flags = [
      '--console',
      `127.0.0.1:${port}`,
      '--plaintext',
      '--token-file',
      'config/examples/dev-token',
    ];
    const clusters = spawnSync(process.execPath, [sightline, 'clusters', 'list', ...flags], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(clusters.status, clusters.stderr).toBe(0);
    expect(clusters.stdout).toMatch(/^NAME\s+PROVIDER\s+REGION\s+AGENT VERSION\s+LAST SEEN\s+ACTIVITY/);
    expect(clusters.stdout).toMatch(/payments\s+ECS\s+us-east-1\s+\S+\s+\d+[smhd]\s+observer:\d+[smhd]/);
    const records = spawnSync(
      process.execPath,
      [sightline, 'records', 'list', ...flags, '--output', 'json'],
      { cwd: root, encoding: 'utf8', timeout: 30_000 },
    );
    expect(records.status, records.stderr).toBe(0);
    expect(records.stdout).toContain('sha256:');
    const wrongToken = spawnSync(
      process.execPath,
      [sightline, 'clusters', 'list', '--console', `127.0.0.1:${port}`, '--plaintext'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, SIGHTLINE_CONSOLE_TOKEN: 'not-the-token' },
        timeout: 30_000,
      },
    );
    expect(wrongToken.status).toBe(1);
    expect(wrongToken.stderr).toMatch(/UNAUTHENTICATED/);
    expect(wrongToken.stderr).not.toContain('not-the-token');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('stopped cleanly');
  }, 150_000);
});

describe('sightline --help', () => {
  it('names every registered provider in the overview and in the demo help', () => {
    const ids = providers.map((p) => p.id);
    expect(ids.length).toBeGreaterThan(2);
    for (const args of [['--help'], ['demo', '--help']]) {
      const help = spawnSync(process.execPath, [sightline, ...args], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(help.status, help.stderr).toBe(0);
      const named = help.stdout.split('\n').find((l) => ids.every((id) => l.includes(id)));
      expect(named, `${args.join(' ')}:\n${help.stdout}`).toBeDefined();
    }
  });
});
