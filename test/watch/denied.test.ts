/**
 * A source whose list is refused for a missing permission (issue #12), in virtual time: it is
 * "denied" (the permission named by `denied`/`denied$`, the gauge and one warning per attempt), its
 * store is kept (no tombstones), no hints are followed, the list is retried every `deniedRetryMs`
 * and not with the short backoff, and the first list that succeeds clears the state and resumes
 * the watch as after any relist.
 */
import { describe, expect, it } from 'vitest';
import { PermissionDeniedError } from '../../src/watch/source.js';
import type { ListPage } from '../../src/watch/source.js';
import { DEFAULT_DENIED_RETRY_MS } from '../../src/watch/types.js';
import { captureLogger, metricValue, newMetrics } from '../console/helpers.js';
import { FakeProvider } from './fake-source.js';
import type { FakeObj } from './fake-source.js';
import { harness, summary } from './harness.js';

const PERMISSION = 'run.workerpools.list';
const RETRY_MS = 60_000;

/** A FakeProvider whose list is refused while `deny` names a permission. */
class DeniableProvider extends FakeProvider {
  deny: string | undefined;
  /** Fail only pages after the first (a permission missing on part of the scope). */
  denyFromPage = 0;

  override async list(pageToken: string | undefined): Promise<ListPage<FakeObj>> {
    const pageNo = pageToken === undefined ? 0 : Number(pageToken) / this.pageSize;
    if (this.deny !== undefined && pageNo >= this.denyFromPage) {
      this.calls.list++;
      throw new PermissionDeniedError(`Permission '${this.deny}' denied on resource 'x'`, this.deny);
    }
    return super.list(pageToken);
  }
}

function setup(options: { deniedRetryMs?: number; resyncPeriodMs?: number } = {}) {
  const log = captureLogger('info');
  const metrics = newMetrics();
  const fake = new DeniableProvider();
  const h = harness({ logger: log.logger, metrics, ...options }, fake);
  const deniedSeen: Array<string | undefined> = [];
  h.watch.denied$.subscribe((d) => deniedSeen.push(d));
  const gauge = (permission: string) =>
    metricValue(metrics, 'sightline_source_permission_denied', { source: fake.id, permission });
  const warnings = () =>
    log.lines.filter((l) => l.includes('"level":40') && l.includes(`missing permission ${PERMISSION}`));
  return { h, fake, log, deniedSeen, gauge, warnings };
}

describe('a source denied a permission', () => {
  it('at its first list: denied, not synced, no hints, retried every deniedRetryMs; then lists normally', async () => {
    const { h, fake, deniedSeen, gauge, warnings } = setup({ deniedRetryMs: RETRY_MS });
    fake.put('a', 'a1');
    fake.put('b', 'b1');
    fake.deny = PERMISSION;
    h.watch.start();
    await h.clock.settle();

    expect(h.watch.denied).toBe(PERMISSION);
    expect(h.watch.synced).toBe(false);
    expect(fake.hintCursors).toEqual([]);
    expect(fake.calls.list).toBe(1);
    expect(await gauge(PERMISSION)).toBe(1);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(`"source":"${fake.id}"`);
    expect(warnings()[0]).toContain(`"permission":"${PERMISSION}"`);

    // Not the short backoff (800 ms … 30 s): nothing until deniedRetryMs, then one attempt each.
    await h.clock.advance(RETRY_MS - 1);
    expect(fake.calls.list).toBe(1);
    await h.clock.advance(1);
    expect(fake.calls.list).toBe(2);
    await h.clock.advance(RETRY_MS);
    expect(fake.calls.list).toBe(3);
    expect(warnings()).toHaveLength(3);
    expect(summary(h.events)).toEqual(['RELIST start initial']);
    expect(deniedSeen).toEqual([undefined, PERMISSION]); // once, not once per attempt

    fake.deny = undefined;
    await h.clock.advance(RETRY_MS);
    expect(h.watch.denied).toBeUndefined();
    expect(h.watch.synced).toBe(true);
    expect(await gauge(PERMISSION)).toBe(0);
    expect(deniedSeen).toEqual([undefined, PERMISSION, undefined]);
    expect(summary(h.events)).toEqual([
      'RELIST start initial',
      'ADDED a a1',
      'ADDED b b1',
      'RELIST done initial',
      'BOOKMARK 2',
    ]);
    // Watching normally again: hints from the list's cursor.
    expect(fake.hintCursors).toEqual(['2']);
    h.clear();
    fake.put('c', 'c1');
    await h.clock.settle();
    expect(summary(h.events)).toEqual(['ADDED c c1', 'BOOKMARK 3']);
    await h.watch.stop();
  });

  it('on a later relist: keeps every object (no tombstones), follows no hints, and diffs once allowed', async () => {
    const { h, fake, gauge } = setup({ deniedRetryMs: RETRY_MS, resyncPeriodMs: 1_000 });
    fake.put('a', 'a1');
    fake.put('b', 'b1');
    fake.put('c', 'c1');
    h.watch.start();
    await h.clock.settle();
    expect(h.watch.synced).toBe(true);
    expect(h.watch.store.size).toBe(3);
    h.clear();

    fake.deny = PERMISSION;
    await h.clock.advance(1_000); // the periodic relist (jitter factor 0.9 with random 0)
    expect(h.watch.denied).toBe(PERMISSION);
    expect(fake.subscribers.size).toBe(0);
    // Changes meanwhile are neither seen (no hints) nor guessed (no tombstones).
    fake.remove('a');
    fake.put('b', 'b2');
    await h.clock.advance(3 * RETRY_MS);
    expect(summary(h.events)).toEqual(['RELIST start periodic']);
    expect([...h.watch.store.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(h.watch.synced).toBe(true); // it did list once; readiness is the daemon's call

    fake.deny = undefined;
    await h.clock.advance(RETRY_MS);
    expect(h.watch.denied).toBeUndefined();
    expect(await gauge(PERMISSION)).toBe(0);
    expect(summary(h.events)).toEqual([
      'RELIST start periodic',
      'MODIFIED b b2',
      'DELETED a tombstone',
      'RELIST done periodic',
      'BOOKMARK 5',
    ]);
    expect(fake.subscribers.size).toBe(1);
    await h.watch.stop();
  });

  it('a page denied after earlier pages were read restarts the list later and tombstones nothing', async () => {
    const { h, fake } = setup({ deniedRetryMs: RETRY_MS });
    for (const k of ['a', 'b', 'c', 'd']) fake.put(k, `${k}1`);
    fake.deny = PERMISSION;
    fake.denyFromPage = 1;
    h.watch.start();
    await h.clock.settle();
    expect(h.watch.denied).toBe(PERMISSION);
    expect(summary(h.events)).toEqual(['RELIST start initial', 'ADDED a a1', 'ADDED b b1']);
    fake.deny = undefined;
    await h.clock.advance(RETRY_MS);
    expect(summary(h.events)).toEqual([
      'RELIST start initial',
      'ADDED a a1',
      'ADDED b b1',
      'ADDED c c1',
      'ADDED d d1',
      'RELIST done initial',
      'BOOKMARK 4',
    ]);
    await h.watch.stop();
  });

  it('another permission replaces the first in the gauge; stop ends the wait and clears the gauge', async () => {
    const { h, fake, gauge, deniedSeen } = setup();
    fake.deny = PERMISSION;
    h.watch.start();
    await h.clock.settle();
    fake.deny = 'run.workerpools.get';
    await h.clock.advance(DEFAULT_DENIED_RETRY_MS);
    expect(fake.calls.list).toBe(2);
    expect(await gauge(PERMISSION)).toBe(0);
    expect(await gauge('run.workerpools.get')).toBe(1);
    await h.watch.stop();
    expect(await gauge('run.workerpools.get')).toBe(0);
    expect(deniedSeen).toEqual([undefined, PERMISSION, 'run.workerpools.get']);
    expect(h.clock.pendingActions).toBe(0);
  });
});
