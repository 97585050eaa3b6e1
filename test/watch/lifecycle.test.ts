import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/logger.js';
import { CoreMetrics, createRegistry } from '../../src/runtime/metrics.js';
import { watch } from '../../src/watch/index.js';
import type { WatchEvent } from '../../src/watch/events.js';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import { harness } from './harness.js';
import { VirtualClock } from './virtual-clock.js';

describe('lifecycle', () => {
  it('stop() unsubscribes hints, clears every timer and resolves only after the in-flight delivery', async () => {
    let release: (() => void) | undefined;
    const fake = new FakeProvider({ pollIntervalMs: 5_000 });
    const h = harness(
      {
        watchdogTimeoutMs: 60_000,
        deliver: (e) =>
          e.type === 'BOOKMARK'
            ? new Promise<void>((resolve) => {
                release = resolve;
              })
            : undefined,
      },
      fake,
    );
    fake.put('a', 'a1');
    let completed = false;
    h.watch.events$.subscribe({ complete: () => (completed = true) });
    h.watch.start();
    await h.clock.settle();
    expect(fake.subscribers.size).toBe(1);
    expect(h.clock.pendingActions).toBeGreaterThanOrEqual(3); // resync, watchdog, poll
    let stopped = false;
    void h.watch.stop().then(() => (stopped = true));
    await h.clock.settle();
    expect(fake.subscribers.size).toBe(0);
    expect(h.clock.pendingActions).toBe(0);
    expect(stopped).toBe(false); // the BOOKMARK delivery is still in flight
    release?.();
    await h.clock.settle();
    expect(stopped).toBe(true);
    expect(completed).toBe(true);
    const before = h.events.length;
    fake.put('b', 'b1');
    await h.clock.advance(100_000);
    expect(h.events.length).toBe(before);
    expect(fake.calls.poll).toBe(0);
  });

  it('a list that completes after stop() emits nothing and arms nothing', async () => {
    const h = harness();
    h.fake.put('a', 'a1');
    let finish: (() => void) | undefined;
    const list = h.fake.list.bind(h.fake);
    h.fake.list = async (t) => {
      await new Promise<void>((resolve) => (finish = resolve));
      return list(t);
    };
    h.watch.start();
    await h.clock.settle();
    await h.watch.stop();
    finish?.();
    await h.clock.settle();
    expect(h.changes()).toEqual([]);
    expect(h.fake.subscribers.size).toBe(0);
    expect(h.clock.pendingActions).toBe(0);
  });

  it('watch() is cold: subscribing starts a watch, unsubscribing stops it', async () => {
    const clock = new VirtualClock();
    const fake = new FakeProvider();
    fake.put('a', 'a1');
    const obs = watch(fake, { scheduler: clock.scheduler, watchdogTimeoutMs: 1_000 });
    await clock.settle();
    expect(fake.calls.list).toBe(0);
    const seen: WatchEvent<FakeObj>[] = [];
    const sub = obs.subscribe((e) => seen.push(e));
    await clock.settle();
    expect(seen.map((e) => e.type)).toEqual(['RELIST', 'ADDED', 'RELIST', 'BOOKMARK']);
    sub.unsubscribe();
    await clock.settle();
    expect(fake.subscribers.size).toBe(0);
    expect(clock.pendingActions).toBe(0);
  });

  it('reports watchEvents{source,kind,type}, relists{source,cause} and queueDepth{queue}', async () => {
    const registry = createRegistry(false);
    const metrics = new CoreMetrics(registry);
    const h = harness({ metrics });
    h.fake.put('w1', 'x', 'workload');
    h.fake.put('o1', 'y');
    h.watch.start();
    await h.clock.settle();
    h.fake.remove('w1');
    await h.clock.settle();
    h.fake.push({ type: 'gap', reason: 't' });
    await h.clock.settle();
    const events = await metrics.watchEvents.get();
    const byLabels = (kind: string, type: string) =>
      events.values.find(
        (v) => v.labels['kind'] === kind && v.labels['type'] === type && v.labels['source'] === 'fake/source',
      )?.value;
    expect(byLabels('workload', 'ADDED')).toBe(1);
    expect(byLabels('workload', 'DELETED')).toBe(1);
    expect(byLabels('object', 'ADDED')).toBe(1);
    const relists = await metrics.relists.get();
    expect(relists.values.map((v) => [v.labels['cause'], v.value]).sort()).toEqual([
      ['gap', 1],
      ['initial', 1],
    ]);
    const depth = await metrics.queueDepth.get();
    expect(depth.values.find((v) => v.labels['queue'] === 'fake/source')?.value).toBe(0);
    const ready = await metrics.sourceReady.get();
    expect(ready.values[0]?.value).toBe(1);
  });

  it('info-level logs never include object contents', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = createLogger({ level: 'info', destination });
    const h = harness({ logger });
    h.fake.put('a', 'CONTENT-MARKER-1');
    h.fake.failures.get.push(new Error('get failed'));
    h.watch.start();
    await h.clock.settle();
    h.fake.put('a', 'CONTENT-MARKER-2');
    await h.clock.advance(2_000);
    h.fake.push({ type: 'gap', reason: 'test' });
    await h.clock.settle();
    await h.watch.stop();
    const text = lines.join('');
    expect(text).toContain('relist done');
    expect(text).toContain('get failed');
    expect(text).not.toContain('CONTENT-MARKER');
  });
});
