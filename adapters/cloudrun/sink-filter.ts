/**
 * The Log Router sink filter the customer-side setup installs (config/gcp-log-sink), and an
 * evaluator of the small subset of the Logging query language it uses, so that the emulator's sink
 * and the tests apply exactly that filter: `AND`, `OR`, `NOT`, parentheses, `LOG_ID("…")` and
 * `field.path="value"` (exact match on the entry's JSON form). Anything else is refused with a
 * SinkFilterError naming the position, never silently ignored.
 */
import type { JsonObject } from './json.js';

/** Cloud Run's Admin Activity and System Event audit logs: what the feed maps (as the tail does). */
export const CLOUD_RUN_SINK_FILTER =
  '(LOG_ID("cloudaudit.googleapis.com/activity") OR LOG_ID("cloudaudit.googleapis.com/system_event"))' +
  ' AND protoPayload.serviceName="run.googleapis.com"';

export class SinkFilterError extends Error {
  override name = 'SinkFilterError';
}

export type EntryPredicate = (entry: JsonObject) => boolean;

type Token = { t: '(' | ')' | 'AND' | 'OR' | 'NOT' } | { t: 'str'; v: string } | { t: 'word'; v: string };

function tokenize(filter: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')') {
      out.push({ t: c });
      i += 1;
    } else if (c === '"') {
      const end = filter.indexOf('"', i + 1);
      if (end < 0) throw new SinkFilterError(`unterminated string at ${i}`);
      out.push({ t: 'str', v: filter.slice(i + 1, end) });
      i = end + 1;
    } else {
      const m = /^[A-Za-z_@][\w.@]*=?/.exec(filter.slice(i));
      if (!m) throw new SinkFilterError(`unexpected '${c}' at ${i}`);
      const w = m[0];
      if (w === 'AND' || w === 'OR' || w === 'NOT') out.push({ t: w });
      else out.push({ t: 'word', v: w });
      i += w.length;
    }
  }
  return out;
}

function fieldValue(entry: JsonObject, path: string): unknown {
  let cur: unknown = entry;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Compiles `filter` to a predicate on LogEntry JSON. Throws SinkFilterError on what it does not support. */
export function compileSinkFilter(filter: string): EntryPredicate {
  const tokens = tokenize(filter);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const expect = (t: Token['t']): Token => {
    const tok = tokens[pos];
    if (tok?.t !== t) throw new SinkFilterError(`expected ${t} at token ${pos}`);
    pos += 1;
    return tok;
  };
  const primary = (): EntryPredicate => {
    const tok = peek();
    if (tok?.t === 'NOT') {
      pos += 1;
      const inner = primary();
      return (e) => !inner(e);
    }
    if (tok?.t === '(') {
      pos += 1;
      const inner = or();
      expect(')');
      return inner;
    }
    if (tok?.t === 'word' && tok.v === 'LOG_ID') {
      pos += 1;
      expect('(');
      const id = expect('str') as { t: 'str'; v: string };
      expect(')');
      const suffix = `/logs/${encodeURIComponent(id.v)}`;
      return (e) => {
        const name = e['logName'];
        return typeof name === 'string' && name.endsWith(suffix);
      };
    }
    if (tok?.t === 'word' && tok.v.endsWith('=')) {
      pos += 1;
      const value = expect('str') as { t: 'str'; v: string };
      const path = tok.v.slice(0, -1);
      return (e) => fieldValue(e, path) === value.v;
    }
    throw new SinkFilterError(`unsupported term at token ${pos}`);
  };
  const and = (): EntryPredicate => {
    const parts = [primary()];
    while (peek()?.t === 'AND') {
      pos += 1;
      parts.push(primary());
    }
    return (e) => parts.every((p) => p(e));
  };
  const or = (): EntryPredicate => {
    const parts = [and()];
    while (peek()?.t === 'OR') {
      pos += 1;
      parts.push(and());
    }
    return (e) => parts.some((p) => p(e));
  };
  const pred = or();
  if (pos !== tokens.length) throw new SinkFilterError(`unexpected token ${pos}`);
  return pred;
}
