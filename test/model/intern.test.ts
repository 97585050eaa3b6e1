import { describe, expect, it } from 'vitest';
import {
  flatString,
  intern,
  internGenerationMaxEntries,
  internTableHas,
  internTableSize,
} from '../../src/model/intern.js';
import { internObject, shareGenerationMaxEntries, sharedPartCount } from '../../src/model/share.js';
import { canonicalJson, contentHash } from '../../src/model/hash.js';

/** A task-like object as the ECS normalizer builds it (fresh strings and parts every time). */
function task(i: number, service: string, tags: Record<string, string> = {}): Record<string, unknown> {
  return {
    kind: 'workload',
    workload: {
      uid: `arn:aws:ecs:us-east-1:1:task/c/${i}`,
      owners: [
        { kind: 'ReplicaSet', name: `${service}-${'1'}`, uid: `arn:svc/${service}#ecs-svc/1` },
        { kind: 'Deployment', name: `${service}`, uid: `arn:svc/${service}` },
      ],
      labels: { ...tags },
      containers: [{ name: 'app', image: { reference: `repo/${service}:1`, digest: `sha256:${service}` } }],
      status: 'RUNNING',
    },
  };
}

type Task = { workload: { owners: object[]; labels: object; containers: Array<{ image: object }> } };

describe('string interning for long-lived objects', () => {
  it('stays bounded under churn: strings seen once age out, strings a fleet repeats stay shared', () => {
    const gen = internGenerationMaxEntries;
    let wrong = 0;
    for (let i = 0; i < 5 * gen; i++) {
      if (intern(`task-${i}`) !== `task-${i}`) wrong++;
      // A digest every task of a service carries: looked up again well within a generation.
      if (i % 1000 === 0) intern('sha256:shared-by-the-fleet');
    }
    expect(wrong).toBe(0);
    expect(internTableSize()).toBeLessThanOrEqual(2 * gen);
    expect(internTableHas('sha256:shared-by-the-fleet')).toBe(true);
    expect(internTableHas('task-0')).toBe(false);
    expect(internTableHas(`task-${5 * gen - 1}`)).toBe(true);
    expect(intern('after-churn')).toBe('after-churn');
  });

  it('flattens a key built by concatenation without changing it (non-Latin-1 text too)', () => {
    for (const s of ['workload/abc/arn:aws:ecs:task/x', 'namespace/é/ü', 'label/日本/🚀', '']) {
      const built = s.split('/').join('/');
      expect(flatString(built)).toBe(s);
    }
  });
});

describe('sharing the repeated parts of long-lived objects', () => {
  it('keeps identity and content of the object it interns in place', () => {
    const o = {
      a: 'x'.repeat(3),
      nested: [{ b: 'y' }, 'z', 3, null, true],
      deep: { c: { d: 'w' } },
      when: new Date(5),
    };
    const before = canonicalJson(o);
    expect(internObject(o)).toBe(o);
    expect(canonicalJson(o)).toBe(before);
    expect(o.when).toBeInstanceOf(Date);
  });

  it('tasks of one service share one owners list, one labels map and one container list; the unique parts stay their own', () => {
    const a = internObject(task(1, 'shop')) as unknown as Task;
    const b = internObject(task(2, 'shop')) as unknown as Task;
    const c = internObject(task(3, 'cart')) as unknown as Task;
    expect(b.workload.owners).toBe(a.workload.owners);
    expect(b.workload.labels).toBe(a.workload.labels);
    expect(b.workload.containers).toBe(a.workload.containers);
    expect(b.workload).not.toBe(a.workload); // uid differs: depth 1 is never shared
    expect(c.workload.owners).not.toBe(a.workload.owners);
    expect(c.workload.containers[0]?.image).not.toBe(a.workload.containers[0]?.image);
    expect(c.workload.owners[1]).toEqual({ kind: 'Deployment', name: 'cart', uid: 'arn:svc/cart' });
    // A part handed again as the same instance (an adapter's memo) is kept as it is.
    const d = task(4, 'shop') as unknown as Task;
    d.workload.owners = a.workload.owners;
    internObject(d);
    expect(d.workload.owners).toBe(a.workload.owners);
    expect(d.workload.owners[1]).toEqual({ kind: 'Deployment', name: 'shop', uid: 'arn:svc/shop' });
    // What identifies an object (its uid) repeats nowhere: it is not interned; what repeats is.
    expect(internTableHas('arn:aws:ecs:us-east-1:1:task/c/3')).toBe(false);
    expect(internTableHas('arn:svc/cart')).toBe(true);
  });

  it('hashes an object holding shared parts exactly as its fresh copy, before and after the parts are reused', () => {
    const fresh = [task(11, 'hashed'), task(12, 'hashed'), task(13, 'hashed')];
    const expected = fresh.map((t) => contentHash(structuredClone(t)));
    const kept = fresh.map((t) => internObject(t));
    expect(kept.map((t) => contentHash(t))).toEqual(expected);
    expect(kept.map((t) => contentHash(t))).toEqual(expected); // second time from the remembered digests
    expect(canonicalJson(kept[2])).toBe(canonicalJson(structuredClone(fresh[2])));
  });

  it('tells apart parts that differ only in a member, its type or its absence', () => {
    const variants: object[] = [
      { x: { a: '1' } },
      { x: { a: 1 } },
      { x: { a: true } },
      { x: { a: null } },
      { x: { a: '1', b: '' } },
      { x: { b: '1' } },
      { x: ['1'] },
      { x: { a: 's1:1' } },
      { x: { a: { a: '1' } } },
    ];
    const roots = variants.map((v) => internObject({ top: { ...structuredClone(v) } }));
    const again = variants.map((v) => internObject({ top: { ...structuredClone(v) } }));
    roots.forEach((r, i) => {
      expect(canonicalJson(again[i])).toBe(canonicalJson(r));
      expect(canonicalJson(r)).toBe(canonicalJson({ top: variants[i] }));
    });
  });

  it('stays bounded when every part is unique', () => {
    // Each task brings at least 5 unique parts (owners, 2 owner records, labels, containers, ...):
    // 0.6 generation's worth of tasks fills at least 3 generations of parts.
    for (let i = 0; i < 0.6 * shareGenerationMaxEntries; i++)
      internObject(task(i, `svc-${i}`, { build: String(i) }));
    expect(sharedPartCount()).toBeGreaterThan(shareGenerationMaxEntries);
    expect(sharedPartCount()).toBeLessThanOrEqual(2 * shareGenerationMaxEntries);
  });

  it('terminates on cyclic input', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    expect(() => internObject(a)).not.toThrow();
  });
});
