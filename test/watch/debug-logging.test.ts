/**
 * Debug logging explains the watcher's decisions (why a relist happens, what was coalesced or
 * dropped, budget waits) without flooding, and every line names its source once.
 */
import { describe, expect, it } from 'vitest';
import { ApiBudget, BUDGET_WAIT_LOG_INTERVAL_MS } from '../../src/watch/budget.js';
import { captureLogger } from '../console/helpers.js';
import { FakeProvider } from './fake-source.js';
import { harness } from './harness.js';
import { VirtualClock } from './virtual-clock.js';

interface Line {
  msg: string;
  level: number;
  [k: string]: unknown;
}
const DEBUG = 20;

function parse(lines: string[]): Line[] {
  return lines.map((l) => JSON.parse(l) as Line);
}

describe('watch debug logging', () => {
  it('a relist logs its cause at debug, and a second request while one is pending says it was coalesced', async () => {
    const log = captureLogger('debug');
    const h = harness({ logger: log.logger });
    h.fake.put('a', 'a1');
    h.watch.start();
    await h.clock.settle();
    log.lines.length = 0;
    h.fake.push({ type: 'gap', reason: 'suppressed entries' });
    h.fake.push({ type: 'gap', reason: 'again' });
    await h.clock.settle();
    const lines = parse(log.lines);
    const requested = lines.find((l) => l.msg === 'relist requested');
    expect(requested).toMatchObject({ level: DEBUG, cause: 'gap', source: h.fake.id });
    expect(lines.find((l) => l.msg.includes('coalesced into it'))).toMatchObject({
      level: DEBUG,
      cause: 'gap',
      pendingCause: 'gap',
    });
    expect(lines.find((l) => l.msg === 'relist started')).toMatchObject({ cause: 'gap' });
    expect(lines.find((l) => l.msg.includes('periodic relist scheduled'))).toMatchObject({
      level: DEBUG,
      resyncInMs: expect.any(Number),
    });
  });

  it('hinted keys: the reconcile line shows how many hints were coalesced into how many keys', async () => {
    const log = captureLogger('debug');
    const h = harness({ logger: log.logger });
    h.fake.put('a', 'a1');
    h.watch.start();
    await h.clock.settle();
    log.lines.length = 0;
    h.fake.feed = 'manual';
    for (const v of ['a2', 'a3', 'a4']) {
      h.fake.put('a', v);
      h.fake.push({ type: 'changed', key: 'a', cursor: v });
    }
    await h.clock.settle();
    const reconcile = parse(log.lines).filter((l) => l.msg === 'reconciling hinted keys');
    expect(reconcile.length).toBeGreaterThan(0);
    const keys = reconcile.reduce((n, l) => n + Number(l['keys']), 0);
    const hints = reconcile.reduce((n, l) => n + Number(l['hints']), 0);
    expect(hints).toBe(3);
    expect(keys).toBeLessThanOrEqual(hints);
  });

  it('names the source once per line, also when the caller already bound it (as the daemon does)', async () => {
    const log = captureLogger('debug');
    const fake = new FakeProvider();
    const h = harness({ logger: log.logger.child({ source: fake.id }) }, fake);
    h.fake.put('a', 'a1');
    h.watch.start();
    await h.clock.settle();
    expect(log.lines.length).toBeGreaterThan(0);
    for (const line of log.lines) expect(line.split('"source":').length - 1).toBe(1);
  });

  it('is silent at info level', async () => {
    const log = captureLogger('info');
    const h = harness({ logger: log.logger });
    h.watch.start();
    await h.clock.settle();
    h.fake.push({ type: 'gap', reason: 'x' });
    await h.clock.settle();
    expect(parse(log.lines).filter((l) => l.level === DEBUG)).toEqual([]);
  });
});

describe('API budget debug logging', () => {
  it('explains waits, at most one line per bucket per interval however many calls wait', async () => {
    const clock = new VirtualClock();
    const log = captureLogger('debug');
    const budget = new ApiBudget(
      { 'test:bucket': { burst: 1, refillPerSecond: 10 } },
      1,
      clock.scheduler,
      undefined,
      log.logger,
    );
    const calls = Array.from({ length: 300 }, () => budget.acquire('test:bucket'));
    await clock.advance(30_000);
    await Promise.all(calls);
    const lines = parse(log.lines).filter((l) => l.msg === 'calls waited for API budget');
    // 299 waits over ~30 s: the first at once, then one summary per interval.
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(Math.ceil(30_000 / BUDGET_WAIT_LOG_INTERVAL_MS) + 1);
    expect(lines[0]).toMatchObject({ level: DEBUG, bucket: 'test:bucket', waits: 1 });
    const summed = lines.reduce((n, l) => n + Number(l['waits']), 0);
    expect(summed).toBeLessThanOrEqual(299);
    expect(summed).toBeGreaterThan(lines.length);
  });
});
