/** `sightline demo`: the embedded demo (`npm start`). */
import { runDemo } from '../../demo/demo.js';
import type { DemoOptions } from '../../demo/demo.js';
import type { Command } from '../command.js';
import { UsageError, parseCommandArgs } from '../command.js';
import { EXIT_OK } from '../exit-codes.js';
import { registeredProviders } from '../providers-list.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: `the embedded demo: emulated ${registeredProviders()}, a reference console, a live clusters list`,
  help: `Usage: sightline demo [--duration SECONDS] [--step SECONDS] [--no-redraw]

Starts the emulators of every provider (${registeredProviders()}) with a small fleet, the reference
console and the watcher, all on 127.0.0.1 (no cloud account, no network), shows a live
'clusters list' and a line per sighting while a script changes the fleet. Ctrl-C stops it cleanly.
  --duration SECONDS  stop by itself after this long
  --step SECONDS      time between scripted fleet changes (default 4)
  --no-redraw         print lines instead of redrawing the screen (default when not a TTY)`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      duration: { type: 'string' },
      step: { type: 'string' },
      'no-redraw': { type: 'boolean', default: false },
    });
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const opts: DemoOptions = {};
    const seconds = (v: string | undefined, flag: string): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds`);
      return n * 1000;
    };
    const durationMs = seconds(values.duration, '--duration');
    const stepIntervalMs = seconds(values.step, '--step');
    if (durationMs !== undefined) opts.durationMs = durationMs;
    if (stepIntervalMs !== undefined) opts.stepIntervalMs = stepIntervalMs;
    if (values['no-redraw']) opts.redraw = false;
    await runDemo(opts);
    return EXIT_OK;
  },
};
