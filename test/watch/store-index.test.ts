import { describe, expect, it } from 'vitest';
import { MapWatchStore } from '../../src/watch/store.js';
import type { Indexers } from '../../src/watch/store.js';

interface Obj {
  name: string;
  owner?: string;
  cluster: string;
}

const indexers: Indexers<Obj> = {
  owner: (o) => (o.owner === undefined ? [] : [o.owner]),
  cluster: (o) => [o.cluster],
};

function entry(object: Obj) {
  return { object, hash: object.name, order: undefined, seen: 0 };
}

describe('MapWatchStore indexes', () => {
  it('files each object under its index values and answers byIndex', () => {
    const store = new MapWatchStore<Obj>(indexers);
    store.set('svc', entry({ name: 'svc', cluster: 'c1' }));
    store.set('rev1', entry({ name: 'rev1', owner: 'svc', cluster: 'c1' }));
    store.set('rev2', entry({ name: 'rev2', owner: 'svc', cluster: 'c1' }));
    store.set('job', entry({ name: 'job', cluster: 'c2' }));
    expect([...store.byIndex('owner', 'svc')].sort()).toEqual(['rev1', 'rev2']);
    expect([...store.byIndex('cluster', 'c1')].sort()).toEqual(['rev1', 'rev2', 'svc']);
    expect([...store.byIndex('cluster', 'c2')]).toEqual(['job']);
    expect(store.byIndex('owner', 'nobody').size).toBe(0);
    expect(store.byIndex('no-such-index', 'svc').size).toBe(0);
  });

  it('keeps indexes exact across replace, re-set and delete', () => {
    const store = new MapWatchStore<Obj>(indexers);
    store.set('rev1', entry({ name: 'rev1', owner: 'svc', cluster: 'c1' }));
    const cur = store.entry('rev1');
    if (cur === undefined) throw new Error('missing');
    store.replaceObject('rev1', cur, { name: 'rev1', owner: 'other', cluster: 'c2' });
    expect(store.get('rev1')?.owner).toBe('other');
    expect(store.byIndex('owner', 'svc').size).toBe(0);
    expect([...store.byIndex('owner', 'other')]).toEqual(['rev1']);
    store.set('rev1', entry({ name: 'rev1', cluster: 'c2' }));
    expect(store.byIndex('owner', 'other').size).toBe(0);
    expect([...store.byIndex('cluster', 'c2')]).toEqual(['rev1']);
    store.delete('rev1');
    store.delete('rev1');
    expect(store.byIndex('cluster', 'c2').size).toBe(0);
    expect(store.size).toBe(0);
  });

  it('without indexers answers empty sets and still stores', () => {
    const store = MapWatchStore.of<Obj>([['a', { name: 'a', owner: 'x', cluster: 'c' }]]);
    expect(store.get('a')?.name).toBe('a');
    expect(store.byIndex('owner', 'x').size).toBe(0);
  });
});
