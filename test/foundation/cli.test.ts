import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configJsonSchema } from '../../src/cli/commands/schema.js';

const root = resolve(import.meta.dirname, '../..');

function sightline(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [resolve(root, 'bin/sightline.js'), ...args], {
    cwd: root,
    env: { ...process.env, SIGHTLINE_DEMO_AWS_KEY: 'AKIDTEST', SIGHTLINE_DEMO_AWS_SECRET: 'test-secret' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Each spawn compiles the CLI's TypeScript; the test waits as long as spawnSync does (60 s).
describe('sightline CLI (spawned as a user runs it)', { timeout: 90_000 }, () => {
  it.each(['gcp', 'aws', 'demo'])('validate accepts config/examples/%s.yaml', (name) => {
    const r = sightline('validate', '--config', `config/examples/${name}.yaml`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid');
  });

  it('validate exits 2 naming each bad field, and starts nothing', () => {
    const r = sightline('validate', '--config', 'test/foundation/fixtures/bad.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('providers.ecs.regions[0]: not an AWS region');
    expect(r.stderr).toContain('providers.ecs: unknown key: bogus');
    expect(r.stderr).toContain('tenant.issuer:');
  });

  it('exits 2 with the command help on a bad flag', () => {
    const r = sightline('validate', '--nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: sightline validate');
  });

  it('exits 2 on an unknown command and lists the commands', () => {
    const r = sightline('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command');
    expect(r.stderr).toContain('validate');
  });

  it('prints the version from package.json', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string };
    const r = sightline('version');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sightline ${pkg.version}`);
  });

  it('keeps the committed config/schema.json in step with the zod schema', () => {
    const committed: unknown = JSON.parse(readFileSync(resolve(root, 'config/schema.json'), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });
});
