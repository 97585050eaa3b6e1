import { describe, expect, it } from 'vitest';
import { intern, internStrings, internTableMaxEntries } from '../../src/model/intern.js';

describe('string interning for long-lived objects', () => {
  it('keeps identity and content of the object it interns in place', () => {
    const o = { a: 'x'.repeat(3), nested: [{ b: 'y' }, 'z', 3, null], deep: { c: { d: 'w' } } };
    const before = JSON.stringify(o);
    expect(internStrings(o)).toBe(o);
    expect(JSON.stringify(o)).toBe(before);
  });

  it('returns an equal string and stays usable past its bound (it starts afresh, never grows without limit)', () => {
    for (let i = 0; i < internTableMaxEntries + 10; i++) expect(intern(`task-${i}`)).toBe(`task-${i}`);
    expect(intern('after-reset')).toBe('after-reset');
  });

  it('terminates on cyclic input', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    expect(() => internStrings(a)).not.toThrow();
  });
});
