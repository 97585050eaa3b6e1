/**
 * What `npm start` shows on a terminal: every redraw keeps the banner (web view URL, console
 * address, token file, the clusters list / records list commands, metrics, logs) on top of the live
 * table, and no line is wider than the terminal or the frame taller than it (a newline on the last
 * row would scroll the banner away). Driven through a fake TTY of a given size.
 */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { runDemo } from '../../src/demo/demo.js';
import { displayWidth } from '../../src/console/table.js';
import { bannerLines } from '../../src/demo/banner.js';

class FakeTty extends Writable {
  readonly isTTY = true;
  text = '';
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** The frames drawn (each starts with cursor-home), as the lines a terminal shows. */
function frames(text: string): string[][] {
  return text
    .split('\x1b[H')
    .slice(1)
    .map((f) => f.split('\nstopping')[0] ?? '')
    .map((f) => f.replaceAll('\x1b[K', '').replaceAll('\x1b[J', '').replace(/\n$/, '').split('\n'));
}

describe('demo screen', () => {
  for (const [columns, rows] of [
    [120, 40],
    [80, 24],
  ] as const) {
    it(`keeps the banner on screen and fits ${columns}x${rows}`, async () => {
      const tty = new FakeTty(columns, rows);
      await runDemo({ out: tty, redraw: true, durationMs: 4_500, stepIntervalMs: 1_000 });
      const drawn = frames(tty.text);
      expect(drawn.length, 'at least one redraw').toBeGreaterThanOrEqual(1);
      for (const lines of drawn) {
        expect(lines.length).toBeLessThanOrEqual(rows - 1);
        for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(columns);
        const screen = lines.join('\n');
        expect(screen).toMatch(/^sightline demo: Cloud Run/);
        expect(screen).toMatch(/web view\s+http:\/\/127\.0\.0\.1:\d+/);
        expect(screen).toMatch(
          /console\s+127\.0\.0\.1:\d+ \(plaintext gRPC\), token file config\/examples\/dev-token/,
        );
        expect(screen).toMatch(/npx sightline clusters list --console 127\.0\.0\.1:\d+/);
        expect(screen).toMatch(/npx sightline records list --console 127\.0\.0\.1:\d+/);
        expect(screen).toMatch(/metrics\s+http:\/\/127\.0\.0\.1:\d+\/metrics/);
        expect(screen).toMatch(/logs\s+\S+sightline\.log/);
      }
      const last = (drawn.at(-1) ?? []).join('\n');
      expect(last).toMatch(/NAME\s+PROVIDER\s+REGION/);
      expect(last).toMatch(/recent sightings/);
      expect(tty.text).toContain('stopped cleanly');
      expect(tty.text.split('\nstopping')[1], 'no redraw over the stopping lines').not.toContain('\x1b[H');
    }, 30_000);
  }

  it('cuts banner lines to the width instead of wrapping them', () => {
    const facts = {
      what: 'x'.repeat(200),
      webUrl: 'http://127.0.0.1:1',
      consoleAddress: '127.0.0.1:2',
      tokenFile: 'config/examples/dev-token',
      metricsUrl: 'http://127.0.0.1:3/metrics',
      logFile: '/tmp/a/very/long/path/'.repeat(5),
    };
    for (const l of bannerLines(facts, 60)) expect(displayWidth(l)).toBeLessThanOrEqual(60);
    expect(bannerLines(facts, 60)[0]).toMatch(/x…$/);
  });
});
