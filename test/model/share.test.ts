import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/model/hash.js';
import { internObject } from '../../src/model/share.js';

/** A small deterministic generator (tests must be repeatable). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Parts that are nearly alike: few members, few values, so many are equal and many differ by one thing. */
function part(next: () => number, depth: number): unknown {
  const pick = next();
  if (depth > 2 || pick < 0.35) {
    const values = ['a', 'b', '1', 1, 0, -0, Number.NaN, true, false, null, undefined, 1.5, 'é', ''];
    return values[Math.floor(next() * values.length)];
  }
  if (pick < 0.55) return Array.from({ length: Math.floor(next() * 3) }, () => part(next, depth + 1));
  const names = ['a', 'b', 'c'];
  const record: Record<string, unknown> = {};
  for (const name of next() < 0.5 ? names : [...names].reverse())
    if (next() < 0.6) record[name] = part(next, depth + 1);
  return record;
}

describe('internObject', () => {
  it('shares only equal parts: every object keeps exactly its content, its key order and its absent members', () => {
    const next = rng(7);
    for (let i = 0; i < 3_000; i++) {
      const original = { kind: 'x', payload: { id: String(i), body: part(next, 0), more: [part(next, 0)] } };
      const expected = structuredClone(original);
      const kept = internObject(original);
      expect(kept).toStrictEqual(expected);
      expect(JSON.stringify(kept)).toBe(JSON.stringify(expected)); // same key order
      expect(canonicalJson(kept)).toBe(canonicalJson(expected));
    }
  });

  it('does not share parts that differ only in key order', () => {
    const a = internObject({ p: { q: { x: { m: '1', n: '2' } } } });
    const b = internObject({ p: { q: { x: { n: '2', m: '1' } } } });
    expect(Object.keys(b.p.q.x)).toEqual(['n', 'm']);
    expect(b.p.q.x).not.toBe(a.p.q.x);
  });

  it('shares an equal part even when it holds shared parts of its own', () => {
    const make = () => ({
      p: { q: { list: [{ image: { ref: 'r:1', digest: 'sha256:1' } }], labels: { app: 'a' } } },
    });
    const a = internObject(make());
    const b = internObject(make());
    expect(b.p.q).toBe(a.p.q);
    expect(b.p.q.list[0]?.image).toBe(a.p.q.list[0]?.image);
  });

  it('shares equal parts holding NaN, and keeps 0 and -0 apart', () => {
    const make = (zero: number) => ({ p: { q: { ratio: Number.NaN, offset: zero, tags: ['a'] } } });
    const a = internObject(make(0));
    const b = internObject(make(0));
    const c = internObject(make(-0));
    expect(b.p.q).toBe(a.p.q);
    expect(c.p.q).not.toBe(a.p.q);
    expect(Object.is(c.p.q.offset, -0)).toBe(true);
  });
});

describe('internObject with the store key', () => {
  const arn = 'arn:aws:ecs:us-east-1:111122223333:task/prod/0123456789abcdef0123456789abcdef';
  const task = () => ({
    kind: 'workload',
    workload: { clusterId: 'c1', uid: `${arn}`, name: arn.slice(-32), namespace: 'prod', status: 'RUNNING' },
  });

  it('keeps the content and the hash of an object whose identity members end its key', () => {
    const key = `workload/c1/${arn}`;
    const plain = internObject(task());
    const keyed = internObject(task(), key);
    expect(keyed).toStrictEqual(plain);
    expect(canonicalJson(keyed)).toBe(canonicalJson(plain));
    expect(keyed.workload.uid).toBe(arn);
    expect(keyed.workload.name).toBe(arn.slice(-32));
  });

  it('leaves identity members alone when the key does not end with them, and other members interned as before', () => {
    const key = 'workload/c1/someone-else';
    const keyed = internObject(task(), key);
    expect(keyed).toStrictEqual(task());
  });

  it('does not carry one object key over to the next object', () => {
    internObject(task(), `workload/c1/${arn}`);
    const other = {
      kind: 'workload',
      workload: { clusterId: 'c1', uid: 'arn:other:0123456789abcdef', name: 'x' },
    };
    expect(internObject(other)).toStrictEqual({
      kind: 'workload',
      workload: { clusterId: 'c1', uid: 'arn:other:0123456789abcdef', name: 'x' },
    });
  });
});

describe('internObject with frozen parts (an adapter shared instance, such as a ContainerImage)', () => {
  const image = Object.freeze({
    reference: 'r:1',
    digest: 'sha256:1',
    unresolved: Object.freeze({ reason: 'x' }),
  });
  const make = (name: string) => ({
    kind: 'workload',
    workload: { uid: name, containers: [{ name: 'app', image }], labels: { app: 'a' } },
  });

  it('keeps the frozen instance as it is, and shares the parts that hold it', () => {
    const a = internObject(make('a'));
    const b = internObject(make('b'));
    expect(a.workload.containers[0]?.image).toBe(image);
    expect(b.workload.containers).toBe(a.workload.containers);
    expect(canonicalJson(b)).toBe(canonicalJson(make('b')));
  });

  it('shares a part holding an equal but distinct frozen instance with the one kept before', () => {
    const first = internObject(make('c'));
    const copy = Object.freeze({ ...image });
    const other = internObject({
      kind: 'workload',
      workload: { uid: 'd', containers: [{ name: 'app', image: copy }], labels: { app: 'a' } },
    });
    expect(other.workload.containers).toBe(first.workload.containers);
  });

  it('does not share a part whose frozen member differs', () => {
    const first = internObject(make('e'));
    const other = internObject({
      kind: 'workload',
      workload: {
        uid: 'f',
        containers: [{ name: 'app', image: Object.freeze({ ...image, digest: 'sha256:2' }) }],
        labels: { app: 'a' },
      },
    });
    expect(other.workload.containers).not.toBe(first.workload.containers);
    expect(other.workload.containers[0]?.image.digest).toBe('sha256:2');
  });
});
