import { describe, expect, it } from 'vitest';
import { CheckpointTracker } from '../../src/watch/index.js';
import { harness, summary } from './harness.js';

describe('CheckpointTracker', () => {
  it('records delivered state and cursor so a restart emits only what changed while stopped', async () => {
    const h1 = harness();
    const tracker = new CheckpointTracker(h1.fake);
    h1.watch.events$.subscribe((e) => tracker.apply(e));
    for (const k of ['a', 'b', 'c']) h1.fake.put(k, `${k}1`);
    h1.watch.start();
    await h1.clock.settle();
    h1.fake.remove('c');
    h1.fake.push({ type: 'bookmark', cursor: 'B9' });
    await h1.clock.settle();
    await h1.watch.stop();
    const cp = tracker.snapshot();
    expect(cp.cursor).toBe('B9');
    expect([...cp.objects].map((o) => [o.key, o.order])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    h1.fake.put('a', 'a2');
    const h2 = harness({ initial: cp }, h1.fake, h1.clock);
    h2.watch.start();
    await h2.clock.settle();
    expect(summary(h2.changes())).toEqual(['MODIFIED a a2']);
  });
});
