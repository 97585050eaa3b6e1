/**
 * What `sightline demo` says it emulates fits a 120-column terminal: the banner names every
 * registered provider's part whole (broken between parts, never cut with `…`), as the demo starts
 * them (through their pushed feeds, the longest titles).
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { displayWidth } from '../../src/console/table.js';
import { startDemoParts } from '../../src/demo/demo-parts.js';
import { runDemo } from '../../src/demo/demo.js';

const FEED_VARIABLES = [
  'SIGHTLINE_DEMO_CLOUDRUN_FEED',
  'SIGHTLINE_DEMO_ECS_FEED',
  'SIGHTLINE_DEMO_LAMBDA_FEED',
];

class Terminal extends Writable {
  readonly isTTY = true;
  readonly columns = 120;
  readonly rows = 40;
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('the demo banner at 120 columns', () => {
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    saved = { ...process.env };
    for (const v of FEED_VARIABLES) delete process.env[v];
  });
  afterEach(() => {
    process.env = saved;
  });

  it('names every part whole, within the width', async () => {
    const parts = await startDemoParts('test', 'pushed');
    const titles = parts.parts.map((p) => p.title);
    await parts.stop();
    expect(titles.join(' and ').length, 'the parts do not fit one line').toBeGreaterThan(120);

    const out = new Terminal();
    await runDemo({ out, redraw: false, durationMs: 1_000, stepIntervalMs: 60_000 });
    const lines = out.text.split('\n');
    const head = lines.slice(
      0,
      lines.findIndex((l) => l.startsWith('web view')),
    );
    expect(head.length).toBeGreaterThan(1);
    for (const l of head) {
      expect(displayWidth(l), l).toBeLessThanOrEqual(120);
      expect(l, l).not.toContain('…');
    }
    expect(head.map((l) => l.trim()).join(' ')).toBe(
      `sightline demo: ${titles.join(' and ')} emulated on loopback`,
    );
  }, 30_000);
});
