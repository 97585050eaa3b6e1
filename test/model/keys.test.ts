import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  clusterId,
  contentHash,
  objectHash,
  objectKey,
  objectOrder,
} from '../../src/model/index.js';
import type { ClusterObject, Workload } from '../../src/model/index.js';
import { toContainerImage } from '../../src/model/image.js';

function workload(over: Partial<Workload> = {}): Workload {
  return {
    clusterId: clusterId('ECS', 'arn:aws:ecs:us-east-1:111122223333:cluster/prod'),
    uid: 'arn:aws:ecs:us-east-1:111122223333:task/prod/abc',
    kind: 'Pod',
    nativeKind: 'ecs.amazonaws.com/Task',
    namespace: 'prod',
    name: 'abc',
    owners: [],
    labels: { team: 'web' },
    containers: [{ name: 'web', image: toContainerImage('nginx:1.27') }],
    ...over,
  };
}

describe('stable keys and content hashes', () => {
  it('derives the same cluster id from the same provider and remote id, different across providers', () => {
    expect(clusterId('ECS', 'x')).toBe(clusterId('ECS', 'x'));
    expect(clusterId('ECS', 'x')).not.toBe(clusterId('CLOUD_RUN', 'x'));
  });

  it('keys objects by kind, cluster and uid', () => {
    const o: ClusterObject = { kind: 'workload', workload: workload() };
    expect(objectKey(o)).toBe(`workload/${o.workload.clusterId}/${o.workload.uid}`);
  });

  it('hashes alike regardless of key order and absent optional fields', () => {
    expect(contentHash({ a: 1, b: { c: 2, d: undefined } })).toBe(contentHash({ b: { c: 2 }, a: 1 }));
  });

  it('changes the hash when content changes', () => {
    const a = objectHash({ kind: 'workload', workload: workload() });
    const b = objectHash({ kind: 'workload', workload: workload({ labels: { team: 'api' } }) });
    expect(a).not.toBe(b);
  });

  it('ignores the provider order (watch metadata, not content), and hashes the rest as contentHash', () => {
    const plain = objectHash({ kind: 'workload', workload: workload() });
    expect(objectHash({ kind: 'workload', workload: workload(), order: 7 })).toBe(plain);
    expect(objectHash({ kind: 'workload', workload: workload(), order: undefined })).toBe(plain);
    // The value the state database's snapshots hold for this content (hash v2).
    expect(plain).toBe(contentHash({ kind: 'workload', workload: workload() }));
    expect(plain).not.toBe(objectHash({ kind: 'workload', workload: { ...workload(), status: 'x' } }));
    expect(objectOrder({ kind: 'workload', workload: workload(), order: 7 })).toBe(7);
    expect(objectOrder({ kind: 'workload', workload: workload(), order: Number.NaN })).toBeUndefined();
  });

  it.each([
    [{ b: 1, a: [1, { d: undefined, c: 'x' }], e: null }, '{"a":[1,{"c":"x"}],"b":1,"e":null}'],
    [[undefined, 1], '[null,1]'],
    ['x"y\n', '"x\\"y\\n"'],
    [1.5, '1.5'],
    [Number.NaN, 'null'],
    [{ 'b-c': true, a: {} }, '{"a":{},"b-c":true}'],
    [{ z: { y: { x: [] } } }, '{"z":{"y":{"x":[]}}}'],
  ])('canonicalJson(%j) is %s', (input, expected) => {
    expect(canonicalJson(input)).toBe(expected);
  });
});
