/**
 * What the demo tells a newcomer, kept on screen at every redraw (and printed once at start when
 * not redrawing): what runs, the web view's URL, the console's address and token file, the
 * `clusters list` / `records list` commands to paste, the metrics URL and the log file. Lines are
 * fitted to the terminal width (cut with `…`, never wrapped by the terminal); what the demo emulates
 * is broken between its parts instead (`and ECS (…)` under the first), so that every part's title
 * shows whole at 120 columns.
 */
import { displayWidth, truncateToWidth } from '../console/table.js';

export interface BannerFacts {
  /** The first words, e.g. `sightline demo:`; alone on its line when nothing is `emulated`. */
  what: string;
  /** The emulated parts' titles, in order; said after `what` as `A and B and C emulated on loopback`. */
  emulated?: readonly string[];
  webUrl: string;
  consoleAddress: string;
  /** Path of the token file, as a user types it from the repository root. */
  tokenFile: string;
  metricsUrl: string;
  logFile: string;
}

export function bannerLines(f: BannerFacts, maxWidth = Infinity): string[] {
  const flags = `--console ${f.consoleAddress} --plaintext --token-file ${f.tokenFile}`;
  return [
    ...whatLines(f, maxWidth),
    `web view  ${f.webUrl}  (sign in with the token in the token file)`,
    `console   ${f.consoleAddress} (plaintext gRPC), token file ${f.tokenFile}`,
    `try       npx sightline clusters list ${flags}`,
    `          npx sightline records list ${flags}`,
    `metrics   ${f.metricsUrl}   Ctrl-C to stop`,
    `logs      ${f.logFile}`,
  ].map((l) => truncateToWidth(l, maxWidth));
}

/**
 * `what` and the emulated parts, packed into as few lines as `maxWidth` allows, broken only between
 * parts; a continuation line is indented under the first part. A part wider than the width is cut.
 */
function whatLines(f: BannerFacts, maxWidth: number): string[] {
  const parts = f.emulated ?? [];
  if (parts.length === 0) return [f.what];
  const pieces = [
    `${f.what} ${parts[0] ?? ''}`,
    ...parts.slice(1).map((p) => `and ${p}`),
    'emulated on loopback',
  ];
  const indent = ' '.repeat(displayWidth(f.what) + 1);
  const lines: string[] = [];
  let line = '';
  for (const piece of pieces) {
    if (line === '') line = piece;
    else if (displayWidth(`${line} ${piece}`) <= maxWidth) line = `${line} ${piece}`;
    else {
      lines.push(line);
      line = `${indent}${piece}`;
    }
  }
  lines.push(line);
  return lines;
}

/** One line for the periodic table in a log (not redrawn): where to look and how to talk to it. */
export function bannerFooter(f: BannerFacts, maxWidth = Infinity): string {
  return truncateToWidth(
    `web view ${f.webUrl} · console ${f.consoleAddress} --plaintext --token-file ${f.tokenFile}`,
    maxWidth,
  );
}
