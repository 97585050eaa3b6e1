import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Subscription } from 'rxjs';
import { createEcsAdapter } from '../../adapters/ecs/index.js';
import type { EcsAdapter } from '../../adapters/ecs/index.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { REGION, WarpScheduler, ecsConfig, listAll, makeDeps } from './helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROLE_ARN = 'arn:aws:iam::123456789012:role/SightlineReader';
const EXTERNAL_ID = 'tenant-7f3a-external-id';
const MASTER = { accessKeyId: 'AKIDMASTEREXAMPLE', secretAccessKey: 'master-secret-not-logged' };

let emu: EcsEmulator | undefined;
let adapter: EcsAdapter | undefined;
const subs: Subscription[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe();
  await adapter?.close();
  await emu?.stop();
  adapter = undefined;
  emu = undefined;
});

const assumeRoleConfig = (endpoint: string) =>
  ecsConfig(endpoint, {
    credentials: {
      source: 'assumeRole',
      roleArn: ROLE_ARN,
      externalId: EXTERNAL_ID,
      sessionName: 'sightline-test',
    },
  });

describe('ECS credentials and IAM', () => {
  it('an assumeRole config calls STS AssumeRole with RoleArn / ExternalId / RoleSessionName and signs with the result', async () => {
    emu = await startEcsEmulator();
    emu.fleet.createCluster({ name: 'x' });
    emu.sts.requiredExternalIds.set(ROLE_ARN, EXTERNAL_ID);
    adapter = createEcsAdapter(assumeRoleConfig(emu.endpoint), makeDeps(), {
      stsEndpoint: emu.endpoint,
      masterCredentials: MASTER,
    });
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    const { items } = await listAll(r.clusters);
    expect(items).toHaveLength(2);
    expect(emu.sts.calls).toHaveLength(1);
    const call = emu.sts.calls[0];
    expect(call).toMatchObject({
      roleArn: ROLE_ARN,
      externalId: EXTERNAL_ID,
      roleSessionName: 'sightline-test',
    });
    // Every ECS call was signed with the temporary key STS issued, none with the master key.
    const issued = call?.accessKeyId ?? '';
    const signed = emu.cloudTrail.lookup(REGION, {
      attributeKey: 'AccessKeyId',
      attributeValue: issued,
      maxResults: 50,
    });
    expect(signed.events.map((e) => e.eventName).sort()).toEqual(['DescribeClusters', 'ListClusters']);
    expect(
      emu.cloudTrail.lookup(REGION, {
        attributeKey: 'AccessKeyId',
        attributeValue: MASTER.accessKeyId,
        maxResults: 50,
      }).events,
    ).toEqual([]);
  });

  it('a wrong external id is refused by STS and no ECS call is made', async () => {
    emu = await startEcsEmulator();
    emu.sts.requiredExternalIds.set(ROLE_ARN, 'a-different-external-id');
    adapter = createEcsAdapter(assumeRoleConfig(emu.endpoint), makeDeps(), {
      stsEndpoint: emu.endpoint,
      masterCredentials: MASTER,
    });
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    const err = await r.clusters.list(undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).not.toContain(MASTER.secretAccessKey);
    expect(emu.calls.get('ListClusters')).toBe(0);
  });

  it('the IAM policy lists exactly the actions the adapter uses', async () => {
    const policy = JSON.parse(
      readFileSync(path.join(repoRoot, 'config', 'iam', 'ecs-policy.json'), 'utf8'),
    ) as {
      Statement: Array<{ Action: string[] }>;
    };
    const allowed = new Set(policy.Statement.flatMap((s) => s.Action));
    const sched = new WarpScheduler(600);
    emu = await startEcsEmulator({ now: () => sched.now() });
    emu.fleet.generate({
      clusters: 2,
      servicesPerCluster: 2,
      tasksPerService: 2,
      taskDefinitions: 2,
      containerInstancesPerCluster: 1,
    });
    adapter = createEcsAdapter(ecsConfig(emu.endpoint), makeDeps({ scheduler: sched }));
    const [r] = adapter.regions();
    if (!r) throw new Error('no region');
    // Everything the adapter can do: list, get, getMany, cheap poll, hints (LookupEvents).
    const lists = await Promise.all([r.clusters, r.services, r.tasks, r.nodes].map((s) => listAll(s)));
    for (const [i, s] of [r.clusters, r.services, r.tasks, r.nodes].entries()) {
      const keys = (lists[i]?.items ?? []).map((o) => s.keyOf(o));
      await s.getMany?.(keys);
      if (keys[0] !== undefined) await s.get(keys[0]);
    }
    await r.tasks.cheapPoll.poll();
    let bookmarks = 0;
    subs.push(r.clusters.hints(undefined).subscribe((h) => (bookmarks += h.type === 'bookmark' ? 1 : 0)));
    await vi.waitFor(() => expect(bookmarks).toBeGreaterThan(0), { timeout: 5000, interval: 10 });

    const used = new Set(
      [...emu.calls.actionsSeen].map((a) => (a === 'LookupEvents' ? `cloudtrail:${a}` : `ecs:${a}`)),
    );
    expect([...used].filter((a) => !allowed.has(a))).toEqual([]);
    expect([...allowed].filter((a) => !used.has(a))).toEqual([]);
  });
});
