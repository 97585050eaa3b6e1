/** Test harness: a watch on a FakeProvider in virtual time, recording every emitted event. */
import { createWatch } from '../../src/watch/index.js';
import type { WatchEngine } from '../../src/watch/engine.js';
import type { WatchEvent } from '../../src/watch/events.js';
import type { WatchOptions } from '../../src/watch/types.js';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import { VirtualClock } from './virtual-clock.js';

export type ObjectEvent = Extract<WatchEvent<FakeObj>, { key: string }>;

export function isObjectEvent(e: WatchEvent<FakeObj>): e is ObjectEvent {
  return e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED';
}

export interface Harness {
  clock: VirtualClock;
  fake: FakeProvider;
  watch: WatchEngine<FakeObj>;
  events: WatchEvent<FakeObj>[];
  /** Object events only (ADDED/MODIFIED/DELETED). */
  changes(): ObjectEvent[];
  clear(): void;
}

export function harness(
  options: Partial<WatchOptions<FakeObj>> = {},
  fake: FakeProvider = new FakeProvider(),
  clock: VirtualClock = new VirtualClock(),
): Harness {
  const watch = createWatch(fake, {
    scheduler: clock.scheduler,
    random: () => 0,
    ...options,
  }) as WatchEngine<FakeObj>;
  const events: WatchEvent<FakeObj>[] = [];
  watch.events$.subscribe((e) => events.push(e));
  return {
    clock,
    fake,
    watch,
    events,
    changes: () => events.filter(isObjectEvent),
    clear: () => {
      events.length = 0;
    },
  };
}

export function summary(events: WatchEvent<FakeObj>[]): string[] {
  return events.map((e) => {
    switch (e.type) {
      case 'BOOKMARK':
        return `BOOKMARK ${e.cursor}`;
      case 'RELIST':
        return `RELIST ${e.phase} ${e.cause}`;
      case 'DELETED':
        return `DELETED ${e.key}${e.tombstone ? ' tombstone' : ''}`;
      default:
        return `${e.type} ${e.key} ${e.object.data}`;
    }
  });
}
