/**
 * Tables that fit a terminal: columns are measured as the terminal shows them (string-width: wide
 * CJK and emoji count 2, zero-width and combining marks 0), and when the natural table is wider than
 * `maxWidth` the shrinkable columns give up width (by rank: first down to a preferred width, then
 * to their minimum; never below it). A cell
 * that loses width is either re-rendered for the width it got (`fit`, e.g. a list that becomes
 * "a, b, +3") or cut with an ellipsis. Whatever the content, no line is wider than `maxWidth`: as a
 * last resort each line is cut. Control characters in cells are replaced with `?` so console-supplied
 * text cannot rewrite the terminal.
 */
import stringWidth from 'string-width';

/** Width used when the output is not a terminal and COLUMNS is not set. */
const defaultTableWidthColumns = 120;
/** A list item is cut no shorter than this; below it a list shows its count instead. */
const minCutItemColumns = 8;
/** Spaces between columns. */
const columnGapColumns = 2;

/** A cell: plain text, or text that can re-render itself for a smaller width. */
export type Cell = string | { text: string; fit: (widthColumns: number) => string };

export interface ColumnSpec {
  header: string;
  /** Shrinkable down to this many columns; absent: the column keeps its natural width. */
  minColumns?: number;
  /** Shrunk to this first (before any column goes below its preferred width); default minColumns. */
  preferColumns?: number;
  /** Columns with a lower rank give up width first (default 0). */
  shrinkRank?: number;
  /** Where a cut cell loses text: `end` (default) or `start` (keeps the tail: `…/repo:tag`). */
  cut?: 'end' | 'start';
}

/** Replaces control characters (C0, DEL, C1) with `?`. */
export function neutralize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** `text` cut to at most `widthColumns` display columns, starting with `…` when anything was cut. */
export function truncateStartToWidth(text: string, widthColumns: number): string {
  if (widthColumns <= 0) return '';
  if (displayWidth(text) <= widthColumns) return text;
  const parts = [...segmenter.segment(text)].map((g) => g.segment);
  let out = '';
  let used = 0;
  for (let i = parts.length - 1; i >= 0; i--) {
    const segment = parts[i] ?? '';
    const w = displayWidth(segment);
    if (used + w > widthColumns - 1) break;
    out = segment + out;
    used += w;
  }
  return `…${out}`;
}

/** `text` cut to at most `widthColumns` display columns, ending in `…` when anything was cut. */
export function truncateToWidth(text: string, widthColumns: number): string {
  if (widthColumns <= 0) return '';
  if (displayWidth(text) <= widthColumns) return text;
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const w = displayWidth(segment);
    if (used + w > widthColumns - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

function padToWidth(text: string, widthColumns: number): string {
  return text + ' '.repeat(Math.max(0, widthColumns - displayWidth(text)));
}

/**
 * Lists `items` joined by `separator` within `widthColumns`: all of them when they fit, else as many as fit
 * followed by `+N`, else the first item cut (at least `minCutItemColumns` of it) and `+N`, else
 * just the count. `total` (default items.length) is what `+N` and the count
 * are taken from, so a caller can list names of some items while counting all.
 */
export function fitList(
  items: string[],
  widthColumns: number,
  total = items.length,
  separator = ', ',
): string {
  const all = items.join(separator);
  if (items.length === total && displayWidth(all) <= widthColumns) return all;
  for (let shown = items.length; shown >= 1; shown--) {
    const text = `${items.slice(0, shown).join(separator)}${separator}+${total - shown}`;
    if (total - shown > 0 && displayWidth(text) <= widthColumns) return text;
  }
  const first = items[0];
  if (first !== undefined) {
    const rest = total > 1 ? `${separator}+${total - 1}` : '';
    const room = widthColumns - displayWidth(rest);
    if (room >= Math.min(minCutItemColumns, displayWidth(first))) return truncateToWidth(first, room) + rest;
  }
  return truncateToWidth(String(total), widthColumns);
}

/** The width to fit tables to: the terminal's columns, else $COLUMNS, else 120. */
export function outputWidth(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): number {
  const tty = stream as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  if (tty.isTTY === true && typeof tty.columns === 'number' && tty.columns > 0) return tty.columns;
  const fromEnv = Number(env['COLUMNS']);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return defaultTableWidthColumns;
}

function cellText(cell: Cell): string {
  return neutralize(typeof cell === 'string' ? cell : cell.text);
}

/** Renders header + rows, left-aligned, fitted to `maxWidth` columns (Infinity: natural widths). */
export function renderFittedTable(columns: ColumnSpec[], rows: Cell[][], maxWidth = Infinity): string {
  const n = columns.length;
  const widths = columns.map((c, i) =>
    Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(cellText(r[i] ?? '')))),
  );
  const total = (): number => widths.reduce((a, b) => a + b, 0) + columnGapColumns * (n - 1);
  let over = total() - maxWidth;
  // Two passes, each in rank order (lowest first): down to the preferred widths, then to the minimums.
  const order = columns
    .map((c, i) => ({ i, rank: c.shrinkRank ?? 0 }))
    .filter(({ i }) => columns[i]?.minColumns !== undefined)
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map(({ i }) => i);
  for (const floor of [
    (c: ColumnSpec) => c.preferColumns ?? c.minColumns ?? 0,
    (c: ColumnSpec) => c.minColumns ?? 0,
  ]) {
    for (const i of order) {
      if (over <= 0) break;
      const spec = columns[i];
      if (spec === undefined) continue;
      const cut = Math.max(0, Math.min(over, (widths[i] ?? 0) - floor(spec)));
      widths[i] = (widths[i] ?? 0) - cut;
      over -= cut;
    }
  }
  const render = (cell: Cell, i: number): string => {
    const w = widths[i] ?? 0;
    const text = cellText(cell);
    if (displayWidth(text) <= w) return text;
    const fitted = typeof cell === 'string' ? text : neutralize(cell.fit(w));
    return columns[i]?.cut === 'start' ? truncateStartToWidth(fitted, w) : truncateToWidth(fitted, w);
  };
  const lines = [columns.map((c) => c.header), ...rows].map((r) => {
    const cells = columns.map((_, i) => render(r[i] ?? '', i));
    const line = cells
      .map((c, i) => (i === n - 1 ? c : padToWidth(c, widths[i] ?? 0)))
      .join(' '.repeat(columnGapColumns))
      .trimEnd();
    return displayWidth(line) > maxWidth ? truncateToWidth(line, maxWidth) : line;
  });
  return lines.join('\n') + '\n';
}
