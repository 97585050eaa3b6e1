import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, reuseCanonicalJson } from '../../src/model/hash.js';

/** The canonical form by its definition: JSON.stringify with every object's keys sorted. */
function reference(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }) ?? 'null'
  );
}

function referenceHash(value: unknown): string {
  return createHash('sha256').update(reference(value)).digest('base64url').slice(0, 22);
}

const samples: unknown[] = [
  {
    kind: 'workload',
    workload: {
      uid: 'u1',
      clusterId: 'c',
      name: 'n',
      labels: { b: '2', a: '1' },
      containers: [
        {
          name: 'app',
          image: {
            reference: 'nginx',
            registry: 'docker.io',
            repository: 'library/nginx',
            tag: 'latest',
            unresolved: { reason: 'not-reported-by-provider' },
          },
        },
      ],
    },
  },
  {
    a: [undefined, null, NaN, Infinity, -0, 1.5, 1e21, true, false],
    s: 'é ü 😀 \u2028 "q" \\ \n\t\u0001 \ud800',
    u: undefined,
    f: () => 1,
    n: { deep: [{ z: 1, y: [[], {}] }] },
  },
  [],
  {},
  'x',
  0,
  null,
];

/**
 * Hashes stored before this writer (state database `snapshot.hash`): they must not change, or the
 * first relist after an upgrade would report every object as MODIFIED.
 */
const pinned = [
  'ZJyQSCpEkHxjkTKDy_a7Jk',
  undefined, // sample 2 is checked against the reference only (its function member has no form)
  'T1PNoYwrqgwDVLtfmj7L5e',
  'RBNvo1WzZ4oRRq0W9-hknp',
  'ui30kDosFOhtw7zKWJEbRK',
  'X-zrZv_IbzjZUnhsbWlsec',
  'dCNOmK_nSY-12vHzasLXis',
];

describe('canonicalJson and contentHash', () => {
  it('write JSON.stringify with sorted keys, and hash it as SHA-256 of that text', () => {
    samples.forEach((s) => {
      expect(canonicalJson(s)).toBe(reference(s));
      expect(contentHash(s)).toBe(referenceHash(s));
    });
  });

  it('keep the hash values stored by earlier versions', () => {
    samples.forEach((s, i) => {
      const want = pinned[i];
      if (want !== undefined) expect(contentHash(s)).toBe(want);
    });
  });

  it('hash non-ASCII text, escapes and lone surrogates as UTF-8 of the JSON text', () => {
    const texts = [
      'é',
      '😀',
      '\ud800',
      '\udc00x',
      '"',
      '\\',
      '\u0000\u001f\u007f',
      'a'.repeat(70_000),
      '日本'.repeat(9_000),
    ];
    for (const t of texts) {
      const v = { k: t, [t]: [t] };
      expect(canonicalJson(v)).toBe(reference(v));
      expect(contentHash(v)).toBe(referenceHash(v));
    }
  });

  it('hash a reused shared part, and the parts inside it, as their fresh copies', () => {
    const inner = { b: 'é', a: [1, 2] };
    const part = { y: inner, x: 'shared' };
    reuseCanonicalJson(part);
    reuseCanonicalJson(inner);
    const holder = (i: number) => ({ id: i, part, also: inner });
    for (let i = 0; i < 3; i++) {
      expect(canonicalJson(holder(i))).toBe(reference(holder(i)));
      expect(contentHash(holder(i))).toBe(referenceHash(holder(i)));
    }
  });

  it('grow past the buffer for a large object and keep hashing small ones right', () => {
    const big = { items: Array.from({ length: 5_000 }, (_, i) => ({ i, s: `item-${i}` })) };
    expect(contentHash(big)).toBe(referenceHash(big));
    expect(contentHash(samples[0])).toBe(pinned[0]);
    const huge = { text: 'x'.repeat(3_000_000), list: [big] };
    expect(contentHash(huge)).toBe(referenceHash(huge));
    expect(canonicalJson(huge)).toBe(reference(huge));
    expect(contentHash(samples[0])).toBe(pinned[0]);
  });
});
