/**
 * The daemon's /healthz (real HTTP on loopback, a real Daemon against the ECS emulator and the
 * reference console): the console check always shows what the outbox holds and what was set aside
 * in `checks.console.detail`, healthy or not, without payloads or the token. The daemon runs on a
 * virtual clock that the tests never advance: what they wait for is loopback I/O only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { parseConfig } from '../../src/config/load.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import { openStateDatabase } from '../../src/state/database.js';
import { captureLogger, tempDir, until, writeToken } from '../console/helpers.js';

const TOKEN = 'health-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startDaemon(
  dir: string,
  tokenFile: string,
): Promise<{ daemon: Daemon; get: () => Promise<Response> }> {
  const console_ = await startReferenceConsole({ listen: '127.0.0.1:0', dbFile: ':memory:', token: TOKEN });
  cleanups.push(() => console_.stop());
  const ecs = await startEcsEmulator();
  cleanups.push(() => ecs.stop());
  const config = parseConfig(
    `tenant: { group: g, issuer: "https://issuer.example" }
providers:
  ecs:
    account: "123456789012"
    regions: [us-east-1]
    credentials: { source: static, accessKeyId: "\${HEALTH_KEY}", secretAccessKey: "\${HEALTH_SECRET}" }
    endpoints: { ecs: "${ecs.endpoint}", cloudtrail: "${ecs.endpoint}" }
console: { address: "${console_.address}", tls: { mode: plaintext }, tokenFile: "${tokenFile}", batchMaxItems: 1 }
stateDir: "${join(dir, 'state')}"
http: { listen: "127.0.0.1:0" }
`,
    join(dir, 'config.yaml'),
    { env: { HEALTH_KEY: 'AKIDHEALTH', HEALTH_SECRET: 'health-secret' } },
  );
  const daemon = new Daemon(config, {
    logger: captureLogger('error').logger,
    registry: createRegistry(false),
    agentVersion: '0.0.0-test',
    scheduler: new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY),
  });
  cleanups.push(() => daemon.stop());
  await daemon.start();
  return { daemon, get: () => fetch(`http://127.0.0.1:${daemon.httpPort ?? 0}/healthz`) };
}

const rejectedPayload = JSON.stringify({ workload: { uid: 'task-9', labels: { note: 'PAYLOAD-ONLY' } } });
const consoleMessage =
  'ReportSightings failed: INVALID_ARGUMENT: sightings[0].workload needs cluster_id and uid';

/** A state database holding one row the console rejected earlier (and `pending` rows not yet sent). */
function seedState(dir: string, pending = 0): number {
  const db = openStateDatabase(join(dir, 'state'), { logger: captureLogger().logger });
  const seq = db.outbox.append('sightings', 'workload/c1/task-9', rejectedPayload, 1);
  db.outbox.reject(seq, consoleMessage, 5_000);
  for (let i = 0; i < pending; i++) db.outbox.append('register', `cluster/c${i}`, '{"id":"c"}', 2);
  db.close();
  return seq;
}

describe('daemon /healthz', () => {
  it('stays 200 and shows the rejected rows, the evicted count and the last rejection', async () => {
    const t = tempDir('sl-health-');
    cleanups.push(t.cleanup);
    const seq = seedState(t.dir);
    const { get } = await startDaemon(t.dir, writeToken(t.dir, TOKEN));

    const res = await get();
    const text = await res.text();
    expect(res.status).toBe(200);
    const body = JSON.parse(text) as { status: string; checks: Record<string, unknown> };
    expect(body.status).toBe('ok');
    expect(body.checks['console']).toEqual({
      ok: true,
      detail: {
        pending: 0,
        rejected: 1,
        rejectedEvicted: 0,
        lastRejected: {
          seq,
          rpc: 'sightings',
          key: 'workload/c1/task-9',
          reason: consoleMessage,
          rejectedMs: 5_000,
        },
      },
    });
    expect(text).not.toContain('PAYLOAD-ONLY');
    expect(text).not.toContain(TOKEN);
  });

  it('turns 503 with the reason when the console refuses the token, and still shows the detail', async () => {
    const t = tempDir('sl-health-');
    cleanups.push(t.cleanup);
    seedState(t.dir, 2);
    const { daemon, get } = await startDaemon(t.dir, writeToken(t.dir, 'not-the-token-987654321'));
    // batchMaxItems 1: the first pending row is due at once, so no virtual time needs to pass.
    await until(() => daemon.health.liveness().ok === false, 10_000, 'the refused token');

    const res = await get();
    const text = await res.text();
    expect(res.status).toBe(503);
    const check = (JSON.parse(text) as { checks: Record<string, { reason?: string; detail?: unknown }> })
      .checks['console'];
    expect(check?.reason).toMatch(/UNAUTHENTICATED/);
    expect(check?.detail).toMatchObject({ pending: 2, rejected: 1, rejectedEvicted: 0 });
    expect(text).not.toContain('not-the-token-987654321');
    expect(text).not.toContain(TOKEN);
  });
});
