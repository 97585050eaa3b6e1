/**
 * The console commands given no token or a malformed one exit 2 (bad usage, as their help says)
 * without starting anything and without printing the token; `console serve` shows --token-file as
 * required.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { clustersListCommand } from '../../src/console/commands.js';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sl-cli-'));
  writeFileSync(join(dir, 'zw-token'), 'tok-HEAD\u200bTAIL-SECRET\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

/** A spawned CLI compiles its TypeScript on start: allow for a loaded machine. */
const SPAWN_TIMEOUT_MS = 60_000;

function sightline(args: string[]) {
  const env = { ...process.env };
  delete env['SIGHTLINE_CONSOLE_TOKEN'];
  const r = spawnSync(process.execPath, [resolve(root, 'bin/sightline.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: SPAWN_TIMEOUT_MS,
    env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('console commands without a usable token', { timeout: 2 * SPAWN_TIMEOUT_MS }, () => {
  it('clusters list with no token exits 2 naming both ways to give one', async () => {
    const out = sink();
    const err = sink();
    const code = await clustersListCommand({
      console: '127.0.0.1:1',
      plaintext: true,
      output: 'table',
      stdout: out.stream,
      stderr: err.stream,
    });
    expect(code).toBe(2);
    expect(err.text()).toBe(
      'error: no console token: give --token-file FILE or set SIGHTLINE_CONSOLE_TOKEN\n',
    );
    expect(out.text()).toBe('');
  });

  it('clusters list with a token holding an invisible character exits 2 without printing it', async () => {
    const err = sink();
    const code = await clustersListCommand({
      console: '127.0.0.1:1',
      plaintext: true,
      output: 'table',
      tokenFile: join(dir, 'zw-token'),
      stdout: sink().stream,
      stderr: err.stream,
    });
    expect(code).toBe(2);
    expect(err.text()).toContain('invisible non-ASCII character');
    expect(err.text()).not.toContain('HEAD');
    expect(err.text()).not.toContain('TAIL-SECRET');
  });

  it('console serve with no token exits 2 with its help, which shows --token-file as required', () => {
    const r = sightline(['console', 'serve', '--listen', '127.0.0.1:0', '--db', ':memory:']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no console token');
    expect(r.stderr).toContain('--db FILE --token-file FILE [--tls-cert');
    expect(r.stdout).not.toContain('listening');
  });

  it('console serve with a malformed token file exits 2 without printing the token', () => {
    const r = sightline([
      'console',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--db',
      ':memory:',
      '--token-file',
      join(dir, 'zw-token'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`console token file ${join(dir, 'zw-token')} has an invisible`);
    expect(r.stderr).not.toContain('TAIL-SECRET');
  });
});
