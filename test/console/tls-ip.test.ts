/**
 * `clusters list` against a TLS console addressed by IP: it works, the certificate is still checked
 * against the IP (a certificate for another address is refused), and Node's DEP0123 warning about
 * an IP as TLS server name is never printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { targetHost } from '../../src/console/tls-credentials.js';
import { fetchClusters } from '../../src/console/views.js';
import { repoRoot, tempDir, writeToken } from './helpers.js';

const TOKEN = 'tls-ip-token-0123456789';
const certs = tempDir('sl-tls-ip-');
let good: ReferenceConsole;
let wrongIp: ReferenceConsole;
let tokenFile: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certs.dir, stdio: 'pipe' });
}

function serverCert(name: string, san: string): { cert: Buffer; key: Buffer } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(certs.dir, `${name}.cnf`), `subjectAltName=${san}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${name}.cnf`,
  );
  return {
    cert: readFileSync(join(certs.dir, `${name}.crt`)),
    key: readFileSync(join(certs.dir, `${name}.key`)),
  };
}

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'sightline.js'), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test CA');
  good = await startReferenceConsole({
    listen: '127.0.0.1:0',
    dbFile: ':memory:',
    token: TOKEN,
    tls: serverCert('good', 'IP:127.0.0.1'),
  });
  wrongIp = await startReferenceConsole({
    listen: '127.0.0.1:0',
    dbFile: ':memory:',
    token: TOKEN,
    tls: serverCert('wrong', 'IP:127.0.0.2'),
  });
  tokenFile = writeToken(certs.dir, TOKEN);
});

afterAll(async () => {
  await good.stop();
  await wrongIp.stop();
  certs.cleanup();
});

describe('TLS to a console addressed by IP', () => {
  it('finds the host of every target form', () => {
    expect(targetHost({ path: '127.0.0.1:8443' })).toBe('127.0.0.1');
    expect(targetHost({ path: '[::1]:8443' })).toBe('::1');
    expect(targetHost({ path: 'console.example:443' })).toBe('console.example');
    expect(targetHost({ path: 'console.example' })).toBe('console.example');
  });

  it('lists clusters over TLS verified against the IP, and refuses another IP, emitting no DEP0123', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => {
      warnings.push(`${w.code ?? ''} ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      const tls = { token: TOKEN, plaintext: false, caFile: join(certs.dir, 'ca.crt') };
      expect(await fetchClusters(good.address, tls)).toEqual([]);
      const refused = await fetchClusters(wrongIp.address, tls).then(
        () => 'accepted',
        (err: Error & { code?: number; details?: string }) =>
          `${err.code ?? ''} ${err.details ?? err.message}`,
      );
      expect(refused).toMatch(/^14 /); // UNAVAILABLE
      expect(refused).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|altnames/i);
      // Node emits its warnings on the next tick.
      await new Promise<void>((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => /DEP0123|RFC 6066/.test(w))).toEqual([]);
  });

  it('`clusters list`, spawned as a user runs it, prints the table and no DEP0123 warning', async () => {
    const r = await cli([
      'clusters',
      'list',
      '--console',
      good.address,
      '--ca-file',
      join(certs.dir, 'ca.crt'),
      '--token-file',
      tokenFile,
    ]);
    expect(r.stderr).not.toMatch(/DEP0123|ServerName|RFC 6066/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+PROVIDER/);
  }, 120_000);
});
