/**
 * What the demo tells a newcomer, kept on screen at every redraw (and printed once at start when
 * not redrawing): what runs, the web view's URL, the console's address and token file, the
 * `clusters list` / `records list` commands to paste, the metrics URL and the log file. Lines are
 * fitted to the terminal width (cut with `…`, never wrapped).
 */
import { truncateToWidth } from '../console/table.js';

export interface BannerFacts {
  what: string;
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
    f.what,
    `web view  ${f.webUrl}  (sign in with the token in the token file)`,
    `console   ${f.consoleAddress} (plaintext gRPC), token file ${f.tokenFile}`,
    `try       npx sightline clusters list ${flags}`,
    `          npx sightline records list ${flags}`,
    `metrics   ${f.metricsUrl}   Ctrl-C to stop`,
    `logs      ${f.logFile}`,
  ].map((l) => truncateToWidth(l, maxWidth));
}

/** One line for the periodic table in a log (not redrawn): where to look and how to talk to it. */
export function bannerFooter(f: BannerFacts, maxWidth = Infinity): string {
  return truncateToWidth(
    `web view ${f.webUrl} · console ${f.consoleAddress} --plaintext --token-file ${f.tokenFile}`,
    maxWidth,
  );
}
