/**
 * A console token with a character gRPC metadata cannot carry (a zero-width space from a
 * copy-paste, a control character): the real daemon (ECS emulator, reference console, real grpc-js
 * client, real /healthz over HTTP) reports a configuration problem naming the file and the
 * character's position, never any part of the token, in logs and /healthz, and does not retry it as
 * a transient failure. The console's own words ("missing or invalid bearer token") survive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { parseConfig } from '../../src/config/load.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import { openStateDatabase } from '../../src/state/database.js';
import { captureLogger, tempDir, until } from '../console/helpers.js';
import type { CapturedLogger } from '../console/helpers.js';

const TOKEN = 'right-token-0123456789';
const HEAD = 'tok-HEADPART';
const TAIL = 'TAILPART-SECRET-42';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startDaemon(
  dir: string,
  tokenFile: string,
): Promise<{ daemon: Daemon; log: CapturedLogger; healthz: () => Promise<Response> }> {
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
    credentials: { source: static, accessKeyId: \${K}, secretAccessKey: \${S} }
    endpoints: { ecs: "${ecs.endpoint}", cloudtrail: "${ecs.endpoint}" }
console: { address: "${console_.address}", tls: { mode: plaintext }, tokenFile: "${tokenFile}", batchMaxItems: 1 }
stateDir: "${join(dir, 'state')}"
http: { listen: "127.0.0.1:0" }
`,
    join(dir, 'config.yaml'),
    // The token file is checked at start-up (validate refuses it); here it goes bad while running.
    { env: { K: 'AKIDSECRETS', S: 'secrets-secret' }, checkFiles: false },
  );
  const log = captureLogger('debug');
  const daemon = new Daemon(config, {
    logger: log.logger,
    registry: createRegistry(false),
    agentVersion: '0.0.0-test',
    scheduler: new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY),
  });
  cleanups.push(async () => {
    await daemon.stop();
    await daemon.whenStateClosed();
  });
  await daemon.start();
  return { daemon, log, healthz: () => fetch(`http://127.0.0.1:${daemon.httpPort ?? 0}/healthz`) };
}

async function seedPending(dir: string): Promise<void> {
  const db = openStateDatabase(join(dir, 'state'), { logger: captureLogger().logger });
  db.outbox.append('register', 'cluster/c1', '{"id":"c1","provider":"ECS","name":"c1"}', 1);
  db.close();
  await db.whenClosed();
}

describe('a console token with characters gRPC cannot carry', () => {
  it.each([
    ['a zero-width space', `${HEAD}\u200b${TAIL}`, 13, 'invisible non-ASCII character'],
    ['a non-ASCII letter', `${HEAD}é${TAIL}`, 13, 'non-ASCII character'],
    ['a control character', `${HEAD}\u0007${TAIL}`, 13, 'control character'],
    ['an inner space', `${HEAD} ${TAIL}`, 13, 'a space'],
  ])(
    'with %s: a config error in /healthz and logs, naming the position, never the token',
    async (_n, bad, pos, cls) => {
      const t = tempDir('sl-secrets-');
      cleanups.push(t.cleanup);
      await seedPending(t.dir);
      const tokenFile = join(t.dir, 'token');
      writeFileSync(tokenFile, `${bad}\n`);
      const { daemon, log, healthz } = await startDaemon(t.dir, tokenFile);
      await until(() => daemon.health.liveness().ok === false, 10_000, 'the token problem in health');

      const res = await healthz();
      const text = await res.text();
      const check = (JSON.parse(text) as { checks: Record<string, { reason?: string }> }).checks['console'];
      expect(check?.reason).toContain(`console token file ${tokenFile}`);
      expect(check?.reason).toContain(cls);
      expect(check?.reason).toContain(`character ${pos}`);
      const logs = log.text();
      expect(logs).toContain('"outcome":"no_token"');
      // Not retried as transient: no "will retry" backoff lines.
      expect(logs).not.toContain('console push failed; will retry');
      for (const out of [text, logs]) {
        expect(out).not.toContain(HEAD);
        expect(out).not.toContain(TAIL);
        expect(out).not.toContain('illegal characters');
      }
    },
  );

  it("keeps the console's own words when it refuses a well-formed wrong token", async () => {
    const t = tempDir('sl-secrets-');
    cleanups.push(t.cleanup);
    await seedPending(t.dir);
    const tokenFile = join(t.dir, 'token');
    writeFileSync(tokenFile, `${HEAD}-${TAIL}\n`);
    const { daemon, log, healthz } = await startDaemon(t.dir, tokenFile);
    await until(() => daemon.health.liveness().ok === false, 10_000, 'the refused token');
    const text = await (await healthz()).text();
    expect(text).toContain('UNAUTHENTICATED: missing or invalid bearer token');
    expect(text).not.toContain('[REDACTED]');
    for (const out of [text, log.text()]) {
      expect(out).not.toContain(HEAD);
      expect(out).not.toContain(TAIL);
    }
  });
});
