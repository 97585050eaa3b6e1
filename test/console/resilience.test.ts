import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { ConsoleSink } from '../../src/console/sink.js';
import { startReferenceConsole } from '../../src/console/server/reference-console.js';
import type { ReferenceConsole } from '../../src/console/server/reference-console.js';
import { fetchClusters, fetchRecords } from '../../src/console/views.js';
import type { ConsoleClientDeps } from '../../src/console/client.js';
import type { ClusterObject } from '../../src/model/index.js';
import { STATE_DB_FILE } from '../../src/state/database.js';
import type { ConsoleConfig } from '../../src/config/schema.js';
import {
  clientRig,
  consoleConfig,
  digestOf,
  makeCluster,
  makeWorkload,
  metricValue,
  tempDir,
  until,
  writeToken,
} from './helpers.js';
import type { ClientRig } from './helpers.js';

const TOKEN = 'right-token-abcdef123456';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function consoleOn(listen = '127.0.0.1:0', dbFile = ':memory:'): Promise<ReferenceConsole> {
  const c = await startReferenceConsole({ listen, dbFile, token: TOKEN });
  cleanups.push(() => c.stop());
  return c;
}

function workDir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function rigAt(
  stateDir: string,
  config: ConsoleConfig,
  extra: Partial<Omit<ConsoleClientDeps, 'db' | 'logger' | 'metrics'>> = {},
): ClientRig & { sink: ConsoleSink } {
  const rig = clientRig(stateDir, config, extra);
  cleanups.push(async () => {
    await rig.client.stop(1_000);
    rig.db.close();
  });
  return { ...rig, sink: new ConsoleSink(rig.db, { logger: rig.log.logger }) };
}

const view = { token: TOKEN, plaintext: true };
const wl = (o: ReturnType<typeof makeWorkload>): ClusterObject => ({ kind: 'workload', workload: o });
const drained = (rig: ClientRig, what = 'outbox drained') =>
  until(() => rig.db.outbox.count === 0 && rig.db.activity.pendingCount() === 0, 15_000, what);

describe('console outage', () => {
  it('delivers every change made while the console was down, in order per key, heartbeats coalesced', async () => {
    const dir = workDir();
    const consoleDb = join(dir, 'console.db');
    const first = await consoleOn('127.0.0.1:0', consoleDb);
    const address = first.address;
    await first.stop();

    const tokenFile = writeToken(dir, TOKEN);
    const rig = rigAt(join(dir, 'state'), consoleConfig(address, tokenFile, { batchMaxItems: 7 }), {
      heartbeatIntervalMs: 20,
    });
    rig.client.start();
    const c = makeCluster(1);
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: c },
    });
    for (let k = 0; k < 10; k++) {
      rig.sink.handle({ type: 'ADDED', sourceId: 't', key: `w${k}`, object: wl(makeWorkload(c, k, k)) });
      rig.sink.handle({
        type: 'MODIFIED',
        sourceId: 't',
        key: `w${k}`,
        object: wl(makeWorkload(c, k, k + 100)),
      });
      rig.sink.handle({
        type: 'MODIFIED',
        sourceId: 't',
        key: `w${k}`,
        object: wl(makeWorkload(c, k, k + 200)),
      });
    }
    for (let k = 10; k < 20; k++) {
      rig.sink.handle({ type: 'ADDED', sourceId: 't', key: `w${k}`, object: wl(makeWorkload(c, k, k)) });
      rig.sink.handle({
        type: 'DELETED',
        sourceId: 't',
        key: `w${k}`,
        object: wl(makeWorkload(c, k, k)),
        tombstone: false,
      });
    }
    for (let k = 20; k < 25; k++) {
      rig.sink.handle({ type: 'ADDED', sourceId: 't', key: `w${k}`, object: wl(makeWorkload(c, k, k)) });
      rig.sink.handle({
        type: 'DELETED',
        sourceId: 't',
        key: `w${k}`,
        object: wl(makeWorkload(c, k, k)),
        tombstone: true,
      });
      rig.sink.handle({
        type: 'ADDED',
        sourceId: 't',
        key: `w${k}`,
        object: wl(makeWorkload(c, k, k + 300)),
      });
    }
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 200; i++) {
      rig.sink.activity({
        clusterId: c.id,
        controllerName: `ctl-${i % 4}`,
        profile: 'observer',
        lastSeenMs: t0 + i,
      });
    }
    const pendingBefore = rig.db.outbox.count;
    expect(pendingBefore).toBe(1 + 30 + 20 + 15);

    await until(() => !rig.client.health().ok, 10_000, 'unhealthy while the console is down');
    expect(rig.client.health().reason).toMatch(/UNAVAILABLE/);
    expect(rig.client.health().pending).toBe(pendingBefore);
    expect(
      await metricValue(rig.metrics, 'sightline_console_push_total', { outcome: 'unavailable' }),
    ).toBeGreaterThan(0);

    const second = await consoleOn(address, consoleDb);
    expect(second.address).toBe(address);
    await drained(rig);
    expect(rig.client.health().ok).toBe(true);

    const [cluster] = await fetchClusters(address, view);
    expect(cluster?.workloads).toBe(15);
    expect(cluster?.activity.map((a) => [a.controller_name, a.last_seen_ms])).toEqual([
      ['ctl-0', t0 + 196],
      ['ctl-1', t0 + 197],
      ['ctl-2', t0 + 198],
      ['ctl-3', t0 + 199],
    ]);
    const hbOk = await metricValue(rig.metrics, 'sightline_console_push_total', {
      rpc: 'Heartbeat',
      outcome: 'ok',
    });
    expect(hbOk).toBe(1);

    const records = await fetchRecords(address, view);
    const byDigest = new Map(records.map((r) => [r.image.digest, r]));
    const ctx = (digest: string, uid: string) => byDigest.get(digest)?.workloads.find((w) => w.uid === uid);
    for (let k = 0; k < 10; k++) {
      expect(ctx(digestOf(k), `task-${k}`)).toMatchObject({ current: false, deleted: false });
      expect(ctx(digestOf(k + 100), `task-${k}`)).toMatchObject({ current: false, deleted: false });
      expect(ctx(digestOf(k + 200), `task-${k}`)).toMatchObject({ current: true, deleted: false });
    }
    for (let k = 10; k < 20; k++)
      expect(ctx(digestOf(k), `task-${k}`)).toMatchObject({ current: false, deleted: true });
    for (let k = 20; k < 25; k++) {
      expect(ctx(digestOf(k), `task-${k}`)).toMatchObject({ current: false, deleted: false });
      expect(ctx(digestOf(k + 300), `task-${k}`)).toMatchObject({ current: true, deleted: false });
    }
    expect(records).toHaveLength(30 + 10 + 10);
  });
});

describe('outbox size limit', () => {
  it('reports unhealthy past maxBytes while the console is away, keeps every change, and recovers', async () => {
    const dir = workDir();
    const first = await consoleOn();
    const address = first.address;
    await first.stop();
    const rig = rigAt(
      join(dir, 'state'),
      consoleConfig(address, writeToken(dir, TOKEN), { outboxMaxBytes: 4_096 }),
      {
        unhealthyAfterFailures: 1_000,
      },
    );
    rig.client.start();
    const c = makeCluster(1);
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: c },
    });
    for (let k = 0; k < 20; k++)
      rig.sink.handle({ type: 'ADDED', sourceId: 't', key: `w${k}`, object: wl(makeWorkload(c, k)) });
    expect(rig.db.outbox.count).toBe(21);
    expect(rig.client.health()).toMatchObject({ ok: false, pending: 21 });
    expect(rig.client.health().reason).toMatch(
      /outbox over its limit: \d+ bytes pending > 4096 \(changes are kept, none dropped\)/,
    );
    const second = await consoleOn(address);
    await drained(rig);
    expect(rig.client.health().ok).toBe(true);
    expect((await fetchClusters(second.address, view))[0]?.workloads).toBe(20);
  });
});

describe('authentication', () => {
  it('does not retry a wrong token, keeps the batch, and resumes when the token file changes', async () => {
    const server = await consoleOn();
    const dir = workDir();
    const tokenFile = writeToken(dir, 'wrong-token-zyxwvu987654');
    const rig = rigAt(join(dir, 'state'), consoleConfig(server.address, tokenFile), {
      permanentErrorCooldownMs: 60_000,
    });
    rig.client.start();
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: makeCluster(1) },
    });
    await until(() => rig.client.health().reason !== undefined, 5_000, 'auth error in health');
    const h = rig.client.health();
    expect(h.ok).toBe(false);
    expect(h.reason).toMatch(/UNAUTHENTICATED/);
    expect(h.pending).toBe(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(
      await metricValue(rig.metrics, 'sightline_console_push_total', {
        rpc: 'RegisterClusters',
        outcome: 'unauthenticated',
      }),
    ).toBe(1);

    writeFileSync(tokenFile, `${TOKEN}\n`);
    await drained(rig, 'delivery after the token file changed');
    expect(rig.client.health().ok).toBe(true);
    expect(await fetchClusters(server.address, view)).toHaveLength(1);
    const logs = rig.log.text();
    expect(logs).not.toContain('wrong-token-zyxwvu987654');
    expect(logs).not.toContain(TOKEN);
    expect(logs).toMatch(/token file changed/);
  });

  it('reports a missing token file clearly and keeps the changes', async () => {
    const server = await consoleOn();
    const dir = workDir();
    const rig = rigAt(join(dir, 'state'), consoleConfig(server.address, join(dir, 'absent-token')));
    rig.client.start();
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: makeCluster(1) },
    });
    await until(() => rig.client.health().reason !== undefined, 5_000, 'token error');
    expect(rig.client.health().reason).toMatch(/cannot read console token file .*absent-token: ENOENT/);
    writeToken(dir, TOKEN, 'absent-token');
    await drained(rig);
  });
});

describe('rejected and repeated batches', () => {
  it('sets aside a registration the console rejects as INVALID_ARGUMENT, reports it, and goes on', async () => {
    const server = await consoleOn();
    const dir = workDir();
    const rig = rigAt(join(dir, 'state'), consoleConfig(server.address, writeToken(dir, TOKEN)), {
      permanentErrorCooldownMs: 60_000,
    });
    rig.client.start();
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: makeCluster(1, { name: '' }) },
    });
    await until(() => rig.client.health().rejected === 1, 5_000, 'rejection');
    expect(rig.client.health()).toMatchObject({ ok: true, pending: 0, rejected: 1 });
    expect(rig.client.health().lastRejected?.reason).toMatch(
      /INVALID_ARGUMENT: RegisterClusters: clusters\[0\]\.name is required/,
    );
    expect(
      await metricValue(rig.metrics, 'sightline_console_push_total', { outcome: 'invalid_argument' }),
    ).toBe(1);
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c2',
      object: { kind: 'cluster', cluster: makeCluster(2) },
    });
    await drained(rig);
    expect(await fetchClusters(server.address, view)).toHaveLength(1);
  });

  it('makes a re-sent batch harmless (same batch ids after a crash before the ack)', async () => {
    const server = await consoleOn();
    const dir = workDir();
    const tokenFile = writeToken(dir, TOKEN);
    const stateA = join(dir, 'a');
    const stateB = join(dir, 'b');
    const seed = rigAt(stateA, consoleConfig(server.address, tokenFile));
    const c = makeCluster(1);
    seed.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: c },
    });
    for (let k = 0; k < 5; k++)
      seed.sink.handle({ type: 'ADDED', sourceId: 't', key: `w${k}`, object: wl(makeWorkload(c, k)) });
    seed.sink.handle({
      type: 'DELETED',
      sourceId: 't',
      key: 'w0',
      object: wl(makeWorkload(c, 0)),
      tombstone: false,
    });
    seed.db.close();
    mkdirSync(stateB);
    copyFileSync(join(stateA, STATE_DB_FILE), join(stateB, STATE_DB_FILE));

    const a = rigAt(stateA, consoleConfig(server.address, tokenFile));
    a.client.start();
    await drained(a);
    const before = await fetchRecords(server.address, view);
    const b = rigAt(stateB, consoleConfig(server.address, tokenFile));
    b.client.start();
    await drained(b);
    expect(
      await metricValue(b.metrics, 'sightline_console_push_total', { outcome: 'duplicate' }),
    ).toBeGreaterThanOrEqual(2);
    expect(await metricValue(b.metrics, 'sightline_console_push_total', { outcome: 'ok' })).toBe(0);
    expect(await fetchRecords(server.address, view)).toEqual(before);
    expect((await fetchClusters(server.address, view))[0]?.workloads).toBe(4);
  });

  it('stop() flushes pending changes without waiting for the batch delay', async () => {
    const server = await consoleOn();
    const dir = workDir();
    const rig = rigAt(
      join(dir, 'state'),
      consoleConfig(server.address, writeToken(dir, TOKEN), { batchMaxDelayMs: 600_000 }),
      {
        heartbeatIntervalMs: 600_000,
      },
    );
    rig.client.start();
    const c = makeCluster(1);
    rig.sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: c },
    });
    rig.sink.handle({ type: 'ADDED', sourceId: 't', key: 'w', object: wl(makeWorkload(c, 1)) });
    await new Promise((r) => setTimeout(r, 50));
    expect(rig.db.outbox.count).toBe(2);
    await rig.client.stop(5_000);
    expect(rig.db.outbox.count).toBe(0);
    expect(await fetchRecords(server.address, view)).toHaveLength(1);
  });
});

describe('wake-ups', () => {
  it('sends a change appended right after start() without waiting for a timer (virtual time frozen)', async () => {
    const server = await consoleOn();
    const dir = workDir();
    const scheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
    const rig = clientRig(
      join(dir, 'state'),
      consoleConfig(server.address, writeToken(dir, TOKEN), { batchMaxDelayMs: 0 }),
      { scheduler },
    );
    cleanups.push(async () => {
      const stopped = rig.client.stop(1_000);
      scheduler.flush();
      await stopped;
      rig.db.close();
    });
    const sink = new ConsoleSink(rig.db, { logger: rig.log.logger, scheduler });
    rig.client.start();
    // The loop has not reached its first sleep yet: this poke must not be lost.
    sink.handle({
      type: 'ADDED',
      sourceId: 'clusters',
      key: 'c',
      object: { kind: 'cluster', cluster: makeCluster(1) },
    });
    await drained(rig, 'delivery without advancing the clock');
    expect(scheduler.now()).toBe(0);
  });
});
