/**
 * Positions in Cloud Logging: (timestamp, insertId), the order ListLogEntries returns entries in
 * (timestamp, ties by insertId). Timestamps are kept as canonical RFC 3339 UTC strings with nine
 * fractional digits, so string comparison is time comparison. Serialized cursors are opaque to the
 * engine: `v1|<timestamp>|<insertId>`.
 *
 * Failure: parsers return undefined on text they cannot read; they never throw.
 */

export interface LogCursor {
  /** Canonical `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`. */
  timestamp: string;
  insertId: string;
}

const TS_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/i;

/** Reads RFC 3339 (and the space-separated form seen in exported samples) into canonical form. */
export function canonicalTimestamp(text: string): string | undefined {
  const m = TS_RE.exec(text.trim());
  if (!m) return undefined;
  const [, date, time, frac = '', zone = 'Z'] = m;
  const baseMs = Date.parse(`${date}T${time}${zone.toUpperCase() === 'Z' ? 'Z' : zone}`);
  if (Number.isNaN(baseMs)) return undefined;
  const iso = new Date(baseMs).toISOString().slice(0, 19);
  return `${iso}.${frac.padEnd(9, '0')}Z`;
}

/** Seconds (number, string or Long-like) + nanos -> canonical timestamp. */
export function timestampFromProto(
  t: { seconds?: unknown; nanos?: unknown } | null | undefined,
): string | undefined {
  if (!t) return undefined;
  const s =
    typeof t.seconds === 'string' || typeof t.seconds === 'number'
      ? Number(t.seconds)
      : Number(String(t.seconds ?? ''));
  if (!Number.isFinite(s)) return undefined;
  const nanos = typeof t.nanos === 'number' ? t.nanos : 0;
  const iso = new Date(s * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(nanos).padStart(9, '0')}Z`;
}

export function timestampFromMs(ms: number): string {
  const whole = Math.floor(ms);
  return `${new Date(whole).toISOString().slice(0, 19)}.${String((whole % 1000) * 1_000_000).padStart(9, '0')}Z`;
}

export function timestampToMs(ts: string): number {
  return Date.parse(ts.slice(0, 23) + 'Z');
}

export function timestampToProto(ts: string): { seconds: string; nanos: number } {
  const seconds = Math.floor(Date.parse(ts.slice(0, 19) + 'Z') / 1000);
  return { seconds: String(seconds), nanos: Number(ts.slice(20, 29)) };
}

export function compareCursors(a: LogCursor, b: LogCursor): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  if (a.insertId === b.insertId) return 0;
  return a.insertId < b.insertId ? -1 : 1;
}

export function serializeCursor(c: LogCursor): string {
  return `v1|${c.timestamp}|${c.insertId}`;
}

export function parseCursor(text: string): LogCursor | undefined {
  const parts = text.split('|');
  if (parts.length < 3 || parts[0] !== 'v1') return undefined;
  const ts = canonicalTimestamp(parts[1] ?? '');
  if (ts === undefined) return undefined;
  return { timestamp: ts, insertId: parts.slice(2).join('|') };
}
