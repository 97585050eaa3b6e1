/**
 * Issue #12 at the daemon level: an ECS account whose IAM policy lacks ecs:ListContainerInstances.
 * `sightline run` (a real Daemon, real HTTP on loopback, the ECS emulator and the reference console)
 * turns ready with the node source denied, /healthz names the source and the permission (503),
 * /livez stays 200, and /metrics carries sightline_source_permission_denied; `sightline once`
 * finishes with the other sources and reports the denied one at once. The daemon's clock is virtual
 * and never advanced: what the tests wait for is loopback I/O only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { inventoryOnce } from '../../src/daemon/once.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import { captureLogger, tempDir, until, writeToken } from '../console/helpers.js';

const TOKEN = 'denied-token-0123456789';
const ACCOUNT = '123456789012';
const NODES = `ecs/${ACCOUNT}/us-east-1/nodes`;
const PERMISSION = 'ecs:ListContainerInstances';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function deniedWorld(): Promise<{ ecs: EcsEmulator; config: Config }> {
  const t = tempDir('sl-denied-');
  cleanups.push(t.cleanup);
  const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: ':memory:', token: TOKEN });
  cleanups.push(() => console_.stop());
  const ecs = await startEcsEmulator({ account: ACCOUNT, throttling: { enabled: false } });
  cleanups.push(() => ecs.stop());
  ecs.fleet.createCluster({ name: 'prod' });
  ecs.fleet.registerContainerInstance({ cluster: 'prod' });
  ecs.faults.denyActions(['ListContainerInstances']);
  const config = parseConfig(
    `tenant: { group: g, issuer: "https://issuer.example" }
providers:
  ecs:
    account: "${ACCOUNT}"
    regions: [us-east-1]
    credentials: { source: static, accessKeyId: "\${DENIED_KEY}", secretAccessKey: "\${DENIED_SECRET}" }
    endpoints: { ecs: "${ecs.endpoint}", cloudtrail: "${ecs.endpoint}" }
console: { address: "${console_.address}", tls: { mode: plaintext }, tokenFile: "${writeToken(t.dir, TOKEN)}" }
stateDir: "${join(t.dir, 'state')}"
http: { listen: "127.0.0.1:0" }
`,
    join(t.dir, 'config.yaml'),
    { env: { DENIED_KEY: 'AKIDDENIED', DENIED_SECRET: 'denied-secret' } },
  );
  return { ecs, config };
}

describe('an ECS source denied a permission', () => {
  it('run: /readyz ready, /healthz names the source and ecs:ListContainerInstances, /livez ok, the gauge at 1', async () => {
    const { config } = await deniedWorld();
    const daemon = new Daemon(config, {
      logger: captureLogger('error').logger,
      registry: createRegistry(false),
      agentVersion: '0.0.0-test',
      scheduler: new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY),
    });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const get = (path: string) => fetch(`http://127.0.0.1:${daemon.httpPort ?? 0}${path}`);
    await until(async () => (await get('/readyz')).status === 200, 10_000, '/readyz ready');

    expect(daemon.deniedSources()).toEqual([{ source: NODES, permission: PERMISSION }]);
    const health = await get('/healthz');
    const text = await health.text();
    expect(health.status).toBe(503);
    const checks = (
      JSON.parse(text) as { checks: Record<string, { ok: boolean; reason?: string; detail?: unknown }> }
    ).checks;
    expect(checks['permissions']).toEqual({
      ok: false,
      reason: `${NODES} lacks ${PERMISSION}`,
      detail: { denied: [{ source: NODES, permission: PERMISSION }] },
    });
    expect(checks['console']?.ok).toBe(true);
    expect(text).not.toContain('AKIDDENIED');
    expect(text).not.toContain('arn:aws:sts');
    expect((await get('/livez')).status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain(
      `sightline_source_permission_denied{source="${NODES}",permission="${PERMISSION}"} 1`,
    );
    expect(metrics).toContain(`sightline_source_ready{source="${NODES}"} 0`);
    expect(metrics).toContain(`sightline_source_ready{source="ecs/${ACCOUNT}/us-east-1/clusters"} 1`);
  });

  it('once: finishes with the other sources and reports the denied one with its permission, without retrying', async () => {
    const { ecs, config } = await deniedWorld();
    const result = await inventoryOnce(config, {
      logger: pino({ level: 'silent' }),
      registry: createRegistry(false),
      agentVersion: 'test',
      // Never advanced: a retry with backoff would never end.
      scheduler: new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY),
    });
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ source: NODES, permission: PERMISSION });
    expect(result.errors[0]?.message).toMatch(/^missing permission ecs:ListContainerInstances: /);
    expect(result.objects.some((o) => o.kind === 'cluster')).toBe(true);
    expect(result.objects.some((o) => o.kind === 'node')).toBe(false);
    expect(ecs.calls.get('ListContainerInstances')).toBe(1);
  });
});
