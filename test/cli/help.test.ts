/**
 * `--help` (and `-h`) on every command prints that command's help and exits 0 without doing
 * anything else: `version --help` used to print the version. Every command through the CLI's
 * dispatch in-process, and `version --help` once spawned as a user runs it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { commands } from '../../src/cli/registry.js';
import { main } from '../../src/cli/dispatch.js';

const root = resolve(import.meta.dirname, '../..');

async function dispatch(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('--help on every command', () => {
  it('prints the help of each command and exits 0, with --help or -h, before any other flag is checked', async () => {
    expect(commands.map((c) => c.name)).toContain('version');
    for (const c of commands) {
      for (const args of [
        [...c.name.split(' '), '--help'],
        [...c.name.split(' '), '--bogus', '-h'],
      ]) {
        const r = await dispatch(args);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout, args.join(' ')).toBe(`${c.help}\n`);
        expect(r.stdout.startsWith(`Usage: sightline ${c.name}`), c.name).toBe(true);
        expect(r.stderr, c.name).toBe('');
      }
    }
  });

  it('lists nodes list in the overview, and --cluster is a nodes list flag only', async () => {
    const overview = await dispatch(['--help']);
    expect(overview.stdout).toMatch(/^ {2}nodes list +list nodes \(ECS container instances\)/m);
    const nodes = await dispatch(['nodes', 'list', '--help']);
    expect(nodes.stdout).toMatch(/CLUSTER, NAME \(EC2 instance id\),\nSTATUS .*INSTANCE TYPE, RUNNING TASKS/);
    expect(nodes.stdout).toMatch(/--cluster NAME\|ID/);
    expect(nodes.stdout).toMatch(/-o, --output FORMAT/);
    const misplaced = await dispatch(['clusters', 'list', '--console', '127.0.0.1:1', '--cluster', 'prod']);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toMatch(/--cluster applies to nodes list only/);
    const empty = await dispatch(['nodes', 'list', '--console', '127.0.0.1:1', '--cluster', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--cluster needs a cluster name or id/);
  });

  it('version with a stray flag is a usage error', async () => {
    const bad = await dispatch(['version', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'/);
    expect(bad.stdout).toBe('');
  });

  it('version --help, spawned, prints the help and not the version', () => {
    const r = spawnSync(process.execPath, [resolve(root, 'bin/sightline.js'), 'version', '--help'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: sightline version\n/);
    expect(r.stdout).not.toMatch(/^sightline \d/m);
  }, 100_000);
});
