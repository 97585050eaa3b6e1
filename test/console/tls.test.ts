import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleSink } from '../../src/console/sink.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { fetchClusters } from '../../src/console/views.js';
import { clientRig, consoleConfig, makeCluster, tempDir, until, writeToken } from './helpers.js';

const TOKEN = 'tls-token-0123456789';
const certs = tempDir('sl-tls-');
let server: ReferenceConsole;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certs.dir, stdio: 'pipe' });
}

beforeAll(async () => {
  // A throw-away CA and a server certificate for console.test (and 127.0.0.1).
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=sightline test CA',
  );
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=console.test');
  writeFileSync(join(certs.dir, 'ext.cnf'), 'subjectAltName=DNS:console.test\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  );
  server = await startReferenceConsole({
    listen: '127.0.0.1:0',
    dbFile: ':memory:',
    token: TOKEN,
    tls: {
      cert: readFileSync(join(certs.dir, 'server.crt')),
      key: readFileSync(join(certs.dir, 'server.key')),
    },
  });
});

afterAll(async () => {
  await server.stop();
  certs.cleanup();
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rig(tls: { caFile?: string; serverName?: string }) {
  const t = tempDir();
  const r = clientRig(
    join(t.dir, 'state'),
    consoleConfig(server.address, writeToken(t.dir, TOKEN), { tls: { mode: 'tls', ...tls } }),
  );
  cleanups.push(async () => {
    await r.client.stop(200);
    r.db.close();
    t.cleanup();
  });
  new ConsoleSink(r.db, { logger: r.log.logger }).handle({
    type: 'ADDED',
    sourceId: 'clusters',
    key: 'c',
    object: { kind: 'cluster', cluster: makeCluster(1) },
  });
  r.client.start();
  return r;
}

describe('TLS to the console', () => {
  it('delivers over TLS with the test CA and a server-name override', async () => {
    const r = rig({ caFile: join(certs.dir, 'ca.crt'), serverName: 'console.test' });
    await until(() => r.db.outbox.count === 0, 10_000, 'delivery over TLS');
    const clusters = await fetchClusters(server.address, {
      token: TOKEN,
      plaintext: false,
      caFile: join(certs.dir, 'ca.crt'),
      serverName: 'console.test',
    });
    expect(clusters.map((c) => c.registration.name)).toEqual(['cluster-1']);
  });

  it('refuses a console whose certificate the system roots do not trust', async () => {
    const r = rig({ serverName: 'console.test' });
    await until(() => !r.client.health().ok, 10_000, 'unhealthy');
    expect(r.client.health().reason).toMatch(/UNAVAILABLE/);
    expect(r.client.health().pending).toBe(1);
  });

  it('refuses a certificate issued for another name', async () => {
    const r = rig({ caFile: join(certs.dir, 'ca.crt'), serverName: 'other.test' });
    await until(() => !r.client.health().ok, 10_000, 'unhealthy');
    expect(r.client.health().pending).toBe(1);
  });
});
