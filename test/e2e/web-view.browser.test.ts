/**
 * The web view in a real browser: Debian's headless Chromium, driven by puppeteer-core, loads the
 * page served by the demo's own parts (emulators, reference console, watcher; demo-stack.ts), signs
 * in with the token, and sees both providers, a digest, LAST SEEN moving and a change made in the
 * emulator appear without a reload. Screenshots of the Clusters and Images pages are saved under
 * test-artifacts/. Every wait is on a page condition with a timeout, never a sleep.
 *
 * Needs /usr/bin/chromium (.ci/run installs Debian's `chromium`); without it the tests are skipped
 * with a message saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { startDemoStack } from '../../src/demo/demo-stack.js';
import type { DemoStack } from '../../src/demo/demo-stack.js';
import { demoProject } from '../../adapters/cloudrun/demo.js';

/** What the page functions below use of the browser's globals (the project compiles without DOM types). */
interface PageNode {
  textContent: string | null;
  querySelector(selector: string): PageNode | null;
}
interface PageGlobal {
  document: PageNode & { querySelectorAll(selector: string): Iterable<PageNode> };
  notReloaded?: boolean;
}

const chromiumPath = '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const artifacts = resolve(import.meta.dirname, '../../test-artifacts');
const waitMs = 25_000;

if (!haveChromium) {
  process.stderr.write(
    `web view browser tests SKIPPED: ${chromiumPath} not found (install Debian's chromium: apt-get install -y chromium)\n`,
  );
}

describe.skipIf(!haveChromium)('web view in headless Chromium', () => {
  let stack: DemoStack;
  let browser: Browser;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    profileDir = mkdtempSync(join(tmpdir(), 'sightline-chromium-'));
    [stack, browser] = await Promise.all([
      startDemoStack({ pace: 'test', webRefreshMs: 1_000 }),
      puppeteer.launch({
        executablePath: chromiumPath,
        headless: true,
        userDataDir: profileDir,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
    ]);
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('signs in with the console token and lands on Clusters', async () => {
    await page.goto(`${stack.webUrl}/clusters`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.type('#token', 'not-the-token');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(await page.$eval('body', (b) => b.textContent ?? '')).toMatch(/not the console token/);
    await page.type('#token', stack.token);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(new URL(page.url()).pathname).toBe('/clusters');
    const cookies = await browser.cookies();
    const session = cookies.find((c) => c.name === 'sightline_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    expect(session?.value).not.toContain(stack.token);
  }, 30_000);

  it('shows every provider and a LAST SEEN that moves without a reload', async () => {
    await page.waitForFunction(
      () => {
        const text =
          (globalThis as unknown as PageGlobal).document.querySelector('#clusters')?.textContent ?? '';
        return [
          'demo-project-1/us-central1',
          'demo-project-1/europe-west1',
          'payments',
          'web',
          'lambda/111122223333/us-east-1',
        ].every((n) => text.includes(n));
      },
      { timeout: waitMs },
    );
    const providers = await page.$$eval('#clusters .badge', (els) => els.map((e) => e.textContent));
    expect(new Set(providers)).toEqual(new Set(['Cloud Run', 'ECS', 'LAMBDA']));
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobal).notReloaded = true;
    });
    const cell = 'tr[data-cluster="payments"] td.last-seen';
    const first = await page.$eval(cell, (e) => e.textContent);
    await page.waitForFunction(
      (sel: string, before: string | null) =>
        (globalThis as unknown as PageGlobal).document.querySelector(sel)?.textContent !== before,
      { timeout: waitMs },
      cell,
      first,
    );
    expect(await page.$eval(cell, (e) => e.textContent)).toMatch(/^\d+[smhd]$/);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobal).notReloaded)).toBe(true);
    await page.screenshot({ path: join(artifacts, 'web-clusters.png'), fullPage: true });
  }, 60_000);

  it('shows images with digests, and a Cloud Run deploy in the emulator appears without a reload', async () => {
    await page.goto(`${stack.webUrl}/images`);
    await page.waitForFunction(
      () =>
        [...(globalThis as unknown as PageGlobal).document.querySelectorAll('#images code.digest')].some(
          (e) => /^sha256:[0-9a-f]{12}$/.test(e.textContent ?? ''),
        ),
      { timeout: waitMs },
    );
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobal).notReloaded = true;
    });
    const image = `us-docker.pkg.dev/${demoProject}/shop/browser-check:7.7.7`;
    const run = stack.demo.parts.find((p) => p.id === 'cloudRun');
    if (run?.id !== 'cloudRun') throw new Error('no Cloud Run demo part');
    run.emulator.fleet.deployService(demoProject, 'us-central1', 'browser-check', image);
    await page.waitForFunction(
      (ref: string) =>
        [...(globalThis as unknown as PageGlobal).document.querySelectorAll('#images tr')].some(
          (tr) =>
            tr.querySelector('code.ref')?.textContent === ref &&
            /^sha256:[0-9a-f]{12}$/.test(tr.querySelector('code.digest')?.textContent ?? '') &&
            (tr.textContent ?? '').includes('us-central1/browser-check'),
        ),
      { timeout: waitMs },
      image,
    );
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobal).notReloaded)).toBe(true);
    await page.screenshot({ path: join(artifacts, 'web-images.png'), fullPage: true });

    await page.type('input[name="q"]', 'browser-check');
    await page.waitForFunction(
      () => {
        const refs = [
          ...(globalThis as unknown as PageGlobal).document.querySelectorAll('#images code.ref'),
        ].map((e) => e.textContent ?? '');
        return refs.length > 0 && refs.every((r) => r.includes('browser-check'));
      },
      { timeout: waitMs },
    );
    expect(new URL(page.url()).searchParams.get('q')).toBe('browser-check');
  }, 60_000);
});
