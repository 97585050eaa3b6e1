import { describe, expect, it } from 'vitest';
import {
  PageTokenCodec,
  PageTokenError,
  TokenRestarts,
  decodeOrRestart,
} from '../../src/provider/page-token.js';

interface Position {
  c: number;
  t?: string;
}

const codec = new PageTokenCodec<Position>('test-page', (v) => {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as { c?: unknown; t?: unknown };
  if (typeof o.c !== 'number' || !Number.isInteger(o.c) || o.c < 0) return undefined;
  return { c: o.c, ...(typeof o.t === 'string' ? { t: o.t } : {}) };
});

function recordingLogger(): {
  warn: string[];
  debug: string[];
  logger: ConstructorParameters<typeof TokenRestarts>[0];
} {
  const warn: string[] = [];
  const debug: string[] = [];
  return {
    warn,
    debug,
    logger: {
      warn: (_fields: unknown, msg?: string) => void warn.push(String(msg)),
      debug: (_fields: unknown, msg?: string) => void debug.push(String(msg)),
    } as ConstructorParameters<typeof TokenRestarts>[0],
  };
}

describe('PageTokenCodec (one codec, one failure rule)', () => {
  it('round-trips a position through an opaque base64url token', () => {
    const token = codec.encode({ c: 3, t: 'next/+=' });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.decode(token)).toEqual({ c: 3, t: 'next/+=' });
  });

  it.each([
    ['not base64url JSON', '%%%'],
    ['JSON that is not a position', Buffer.from(JSON.stringify({ c: -1 })).toString('base64url')],
    ['a JSON scalar', Buffer.from('42').toString('base64url')],
  ])('an unreadable token (%s) is a PageTokenError naming the kind', (_what, token) => {
    expect(() => codec.decode(token)).toThrow(PageTokenError);
    expect(() => codec.decode(token)).toThrow(/test-page/);
  });

  it('decodeOrRestart: no token starts at the beginning without a report', () => {
    const r = recordingLogger();
    const restarts = new TokenRestarts(r.logger, 'src');
    expect(decodeOrRestart(codec, undefined, { c: 0 }, restarts)).toEqual({ c: 0 });
    expect(restarts.count).toBe(0);
  });

  it('decodeOrRestart: an unreadable token restarts from the beginning, warned once and counted each time', () => {
    const r = recordingLogger();
    const restarts = new TokenRestarts(r.logger, 'src');
    expect(decodeOrRestart(codec, 'garbage!', { c: 0 }, restarts)).toEqual({ c: 0 });
    expect(decodeOrRestart(codec, 'garbage!', { c: 0 }, restarts)).toEqual({ c: 0 });
    expect(restarts.count).toBe(2);
    expect(r.warn).toHaveLength(1);
    expect(r.debug).toHaveLength(1);
  });

  it('decodeOrRestart: a readable token gives its position', () => {
    const r = recordingLogger();
    const restarts = new TokenRestarts(r.logger, 'src');
    expect(decodeOrRestart(codec, codec.encode({ c: 2 }), { c: 0 }, restarts)).toEqual({ c: 2 });
    expect(restarts.count).toBe(0);
  });
});
