import { describe, expect, it } from 'vitest';
import type { AgentActivity } from '../../src/model/index.js';
import { ActivityReporter } from '../../src/provider/activity.js';
import { VirtualClock } from '../watch/virtual-clock.js';

describe('ActivityReporter (LAST SEEN)', () => {
  it('stamps each touch with the injected clock and ignores touches after close', async () => {
    const clock = new VirtualClock();
    const reporter = new ActivityReporter('sightline-test', clock.scheduler);
    const seen: AgentActivity[] = [];
    let complete = false;
    reporter.activity$.subscribe({ next: (a) => seen.push(a), complete: () => (complete = true) });
    await clock.advance(1_500);
    reporter.touch('c1');
    reporter.close();
    reporter.touch('c2');
    expect(seen).toEqual([
      { clusterId: 'c1', controllerName: 'sightline-test', profile: 'observer', lastSeenMs: 1_500 },
    ]);
    expect(complete).toBe(true);
  });
});
