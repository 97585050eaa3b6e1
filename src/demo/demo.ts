/**
 * `sightline demo` (`npm start`): every registered provider's emulator with a small fleet, the
 * reference console (with its web view) and the watcher, all on 127.0.0.1, plus a live `clusters
 * list` that refreshes every second and a line per sighting while a script changes the fleet every
 * few seconds. On a terminal the screen is redrawn in place with the banner (web URL, console
 * address, token file, the commands to try, metrics, logs) always on top, everything fitted to the
 * terminal's size (no line wraps; the oldest sightings give way). Otherwise it prints lines, fitted
 * to $COLUMNS or 120, and the table whenever it shows something new and every 5 s.
 *
 * The scripted changes are the providers' demo steps (demo-parts.ts). The parts are started by
 * demo-stack.ts (ephemeral ports, state in a temporary directory removed at exit). Stops cleanly on
 * Ctrl-C, or after `durationMs` when given. Logs go to `<tmp>/sightline.log`, not the screen.
 */
import { fetchClusters, renderClustersTable } from '../console/index.js';
import { outputWidth, truncateToWidth } from '../console/table.js';
import { demoTokenFile, startDemoStack } from './demo-stack.js';
import { sightingLine } from './sighting-line.js';
import { bannerFooter, bannerLines } from './banner.js';
import type { BannerFacts } from './banner.js';

export interface DemoOptions {
  /** Stop by itself after this long (tests); default: run until Ctrl-C. */
  durationMs?: number;
  /** Time between scripted fleet changes. */
  stepIntervalMs?: number;
  /** Redraw the screen in place (default: stdout is a TTY). */
  redraw?: boolean;
  out?: NodeJS.WritableStream;
}

export { demoConfigFile } from './demo-stack.js';
const refreshIntervalMs = 1_000;
/** Sightings kept for the screen; fewer are shown when the terminal is short. */
const sightingLinesKept = 100;

export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const out = options.out ?? process.stdout;
  const redraw = options.redraw ?? (process.stdout.isTTY === true && out === process.stdout);
  const stepIntervalMs = options.stepIntervalMs ?? 4_000;
  const tty = out as NodeJS.WritableStream & { rows?: number };
  const width = (): number => outputWidth(out);

  const clusterNames = new Map<string, string>();
  const lines: string[] = [];
  const print = (line: string): void => {
    lines.push(line);
    if (lines.length > sightingLinesKept) lines.shift();
    if (!redraw) out.write(`${line}\n`);
  };
  const stack = await startDemoStack({
    onEvent: (event) => {
      if ((event.type === 'ADDED' || event.type === 'MODIFIED') && event.object.kind === 'cluster') {
        clusterNames.set(event.object.cluster.id, event.object.cluster.name);
      }
      const line = sightingLine(event, clusterNames, Date.now(), width());
      if (line) print(line);
    },
  });
  const { demo, token } = stack;
  const facts: BannerFacts = {
    what: 'sightline demo:',
    emulated: demo.parts.map((p) => p.title),
    webUrl: stack.webUrl,
    consoleAddress: stack.consoleAddress,
    tokenFile: demoTokenFile,
    metricsUrl: `http://127.0.0.1:${stack.daemon.httpPort ?? '?'}/metrics`,
    logFile: stack.logFile,
  };
  if (redraw) out.write('\x1b[2J');
  else out.write(`${bannerLines(facts, width()).join('\n')}\n\n`);

  let step = 0;
  let lastTable = '';
  let stopping = false;
  /** The whole screen: banner, clusters table, as many recent sightings as fit; cursor home first. */
  const screen = (): string => {
    const w = width();
    const rows = tty.rows !== undefined && tty.rows > 0 ? tty.rows : 40;
    const time = new Date().toISOString().slice(11, 19);
    const top = [...bannerLines(facts, w), '', ...lastTable.trimEnd().split('\n'), ''];
    const head = `${time}  recent sightings (* = found by relist):`;
    const room = Math.max(0, rows - 1 - top.length - 1);
    const shown = room > 0 ? [head, ...lines.slice(-room)] : [];
    // Leave the last row empty: a newline there would scroll the banner off the top.
    return `\x1b[H${[...top, ...shown]
      .slice(0, rows - 1)
      .map((l) => `${truncateToWidth(l, w)}\x1b[K`)
      .join('\n')}\n\x1b[J`;
  };
  const refresh = async (): Promise<void> => {
    try {
      const clusters = await fetchClusters(stack.consoleAddress, { token, plaintext: true });
      lastTable = renderClustersTable(clusters, Date.now(), { maxWidth: width() });
    } catch (err) {
      lastTable = `(console not answering: ${err instanceof Error ? err.message : String(err)})\n`;
    }
    // A refresh still in flight when stopping began must not draw over the stopping lines.
    if (redraw && !stopping) out.write(screen());
  };
  const timers: NodeJS.Timeout[] = [];
  let tableTicks = 0;
  let printedShape = '';
  timers.push(
    setInterval(() => {
      void refresh().then(() => {
        tableTicks += 1;
        if (redraw) return;
        // Printed when it shows something new (a cluster, an activity), else every 5 s.
        const shape = lastTable.replace(/\b\d+[smhd]\b/g, '');
        if (shape === printedShape && tableTicks % 5 !== 1) return;
        printedShape = shape;
        out.write(`\n${lastTable}${bannerFooter(facts, width())}\n\n`);
      });
    }, refreshIntervalMs),
  );
  timers.push(
    setInterval(() => {
      const what = demo.playStep(step++);
      print(truncateToWidth(`${new Date().toISOString().slice(11, 19)} >>> ${what}`, width()));
    }, stepIntervalMs),
  );

  await new Promise<void>((resolveStop) => {
    const done = (): void => resolveStop();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (options.durationMs !== undefined) timers.push(setTimeout(done, options.durationMs));
  });
  stopping = true;
  for (const t of timers) clearInterval(t);
  out.write('\nstopping: watcher, console, emulators…\n');
  if (!redraw) {
    await refresh();
    out.write(`${lastTable}\n`);
  }
  await stack.stop();
  out.write('stopped cleanly\n');
}
