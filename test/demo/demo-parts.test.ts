/**
 * Every registered provider ships a demo part, and together they make a working demo: each
 * emulator starts seeded, the sections parse as the config of `sightline run` (secrets only through
 * the variables the parts give), two rounds of the interleaved script play without a skipped step,
 * and a registration never imports its demo or emulator statically (a running watcher loads none).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providers } from '../../adapters/index.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { startDemoParts } from '../../src/demo/demo-parts.js';
import type { DemoParts } from '../../src/demo/demo-parts.js';

const root = resolve(import.meta.dirname, '../..');

function configText(demo: DemoParts): string {
  return JSON.stringify({
    tenant: { group: 'g1', issuer: 'https://issuer.example.com' },
    console: { address: '127.0.0.1:1', tokenFile: '/nonexistent/token' },
    stateDir: '/tmp/sightline-demo-parts-test',
    providers: demo.providerSections,
  });
}

describe('demo parts of the provider registrations', () => {
  let demo: DemoParts;
  beforeAll(async () => {
    demo = await startDemoParts('test');
  }, 30_000);
  afterAll(async () => demo.stop());

  it('start one part per registration, in registration order, each named in the title', () => {
    expect(demo.parts.map((p) => p.id)).toEqual(providers.map((p) => p.id));
    for (const p of demo.parts) {
      expect(p.title).not.toBe('');
      expect(demo.title).toContain(p.title);
    }
  });

  it('give sections that parse as a config with their variables, and not without them', () => {
    const config = parseConfig(configText(demo), 'demo.json', { env: demo.env, checkFiles: false });
    expect(Object.keys(config.providers).sort()).toEqual(providers.map((p) => p.id).sort());
    if (Object.keys(demo.env).length > 0)
      expect(() => parseConfig(configText(demo), 'demo.json', { env: {}, checkFiles: false })).toThrow(
        ConfigError,
      );
    // Secret values travel in env only, never inline in a section.
    for (const value of Object.values(demo.env))
      expect(JSON.stringify(demo.providerSections)).not.toContain(value);
  });

  it('play two rounds of the interleaved script, every step one line and none skipped', () => {
    const total = demo.parts.reduce((n, p) => n + p.steps.length, 0);
    expect(total).toBeGreaterThan(0);
    const lines = Array.from({ length: 2 * total }, (_, n) => demo.playStep(n));
    for (const line of lines) {
      expect(line).not.toBe('');
      expect(line).not.toContain('step skipped');
      expect(line).not.toContain('\n');
    }
  });

  it('load no demo or emulator module from a registration, except by dynamic import', () => {
    const files = readdirSync(resolve(root, 'adapters'))
      .map((dir) => resolve(root, 'adapters', dir, 'registration.ts'))
      .filter((file) => existsSync(file));
    expect(files.length).toBe(providers.length);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).toMatch(/import\('\.\/demo\.js'\)/);
      expect(text, file).not.toMatch(/^import (?!type )[^;]*from '\.\/(demo|emulator)/m);
    }
  });
});

describe('demo parts with pushed feeds (what sightline demo starts)', () => {
  it('watch every provider that has a pushed feed through it, in a section that parses', async () => {
    const saved = { ...process.env };
    delete process.env['SIGHTLINE_DEMO_CLOUDRUN_FEED'];
    delete process.env['SIGHTLINE_DEMO_ECS_FEED'];
    delete process.env['SIGHTLINE_DEMO_LAMBDA_FEED'];
    const pushed = await startDemoParts('test', 'pushed');
    try {
      const config = parseConfig(configText(pushed), 'demo.json', { env: pushed.env, checkFiles: false });
      const feeds = Object.values(config.providers).map(
        (section) => (section as { changeFeed?: { source?: string } }).changeFeed?.source,
      );
      expect(feeds.sort()).toEqual(['pubsub', 'sqs', 'sqs']);
      expect(pushed.title).toMatch(/Pub\/Sub/);
      expect(pushed.title).toMatch(/SQS/);
    } finally {
      await pushed.stop();
      process.env = saved;
    }
  }, 30_000);
});
