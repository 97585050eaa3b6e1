import { describe, expect, it } from 'vitest';
import { LruMap } from '../../src/runtime/lru-map.js';

describe('LruMap', () => {
  it('evicts the least recently used entry; a read or a write makes an entry the most recent', () => {
    const m = new LruMap<string, number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    expect(m.get('a')).toBe(1); // a is now the most recent
    m.set('d', 4); // evicts b
    expect(m.has('b')).toBe(false);
    m.set('c', 30); // c refreshed
    m.set('e', 5); // evicts a
    expect([...['a', 'b', 'c', 'd', 'e']].filter((k) => m.has(k))).toEqual(['c', 'd', 'e']);
    expect(m.get('c')).toBe(30);
    expect(m.size).toBe(3);
  });

  it('rejects a bound below one', () => {
    expect(() => new LruMap(0)).toThrow(/maxEntries must be >= 1/);
  });
});
