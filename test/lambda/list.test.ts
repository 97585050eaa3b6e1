/**
 * Listing a region through the real @aws-sdk/client-lambda against the emulator: image functions
 * only (zip skipped and counted in a metric), each with its image and digest, tags as labels, versions owned by
 * their function with their own images, "serving" decided by alias weights; the calls made; the
 * cache of version images; denied and gone functions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLambdaAdapter } from '../../adapters/lambda/index.js';
import type { LambdaAdapter } from '../../adapters/lambda/index.js';
import { startLambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import type { LambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import { deniedPermission } from '../../src/watch/source.js';
import { MemoryCache } from '../../src/provider/cache.js';
import { listAll } from '../ecs/helpers.js';
import { ACCOUNT, REGION, REPO, lambdaConfig, makeDeps, workloads } from './helpers.js';

let emu: LambdaEmulator | undefined;
const adapters: LambdaAdapter[] = [];

afterEach(async () => {
  for (const a of adapters.splice(0)) await a.close();
  await emu?.stop();
  emu = undefined;
});

function functionsSource(a: LambdaAdapter) {
  const [r] = a.regions();
  if (!r) throw new Error('no region');
  return r;
}

describe('Lambda list', () => {
  it('counts the zip functions each list skips in sightline_functions_skipped_total, per source', async () => {
    emu = await startLambdaEmulator({ throttling: { enabled: false } });
    emu.fleet.generate({ regions: [REGION], functions: 120, versionsPerFunction: 1, zipEvery: 4 });
    const deps = makeDeps(undefined, undefined, { budget: false });
    const a = createLambdaAdapter(lambdaConfig(emu.endpoint), deps);
    adapters.push(a);
    const r = functionsSource(a);
    const skipped = async (): Promise<string[]> =>
      (await deps.metrics.registry.metrics())
        .split('\n')
        .filter((l) => l.startsWith('sightline_functions_skipped_total{'));
    const line = `sightline_functions_skipped_total{source="${r.functions.id}",reason="zip"}`;

    await listAll(r.functions); // 3 pages of 50: the zip functions of every page are counted
    expect(await skipped()).toEqual([`${line} 30`]);
    await listAll(r.functions); // a relist passes over them again
    expect(await skipped()).toEqual([`${line} 60`]);
  });

  it('lists image functions and their versions with image and digest, skips zip functions, and makes the minimal calls', async () => {
    emu = await startLambdaEmulator({ throttling: { enabled: false } });
    emu.fleet.generate({ regions: [REGION], functions: 60, versionsPerFunction: 3, zipEvery: 6 });
    const a = createLambdaAdapter(
      lambdaConfig(emu.endpoint),
      makeDeps(undefined, undefined, { budget: false }),
    );
    adapters.push(a);
    const r = functionsSource(a);
    const { items, cursor } = await listAll(r.functions);
    expect(cursor).toBeDefined();
    const w = workloads(items);
    const fns = w.filter((x) => x.kind === 'Deployment');
    const versions = w.filter((x) => x.kind === 'ReplicaSet');
    expect(fns).toHaveLength(50);
    expect(versions).toHaveLength(150);
    expect(r.context.zipFunctions).toBe(10);
    expect(items.filter((o) => o.kind === 'cluster').map((o) => o.kind === 'cluster' && o.cluster)).toEqual([
      expect.objectContaining({
        provider: 'LAMBDA',
        name: `lambda/${ACCOUNT}/${REGION}`,
        region: REGION,
        account: ACCOUNT,
      }),
    ]);
    for (const x of w) {
      expect(x.containers).toHaveLength(1);
      expect(x.containers[0]?.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(x.containers[0]?.image.registry).toBe(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`);
    }
    const fn1 = fns.find((x) => x.name === 'fn-00001');
    expect(fn1).toMatchObject({
      nativeKind: 'lambda.amazonaws.com/Function',
      labels: { team: 'team-1' },
      status: 'Active',
    });
    const v = versions.filter((x) => x.owners[0]?.uid === fn1?.uid);
    expect(v.map((x) => x.name)).toEqual(['fn-00001:1', 'fn-00001:2', 'fn-00001:3']);
    // Each version keeps the image it was published with; only `live` (version 3) serves.
    expect(v.map((x) => x.containers[0]?.image.tag)).toEqual(['latest', 'v1', 'v2']);
    expect(v.map((x) => x.status)).toEqual(['Published', 'Published', 'Serving']);
    expect(v[2]?.containers[0]?.image.digest).toBe(fn1?.containers[0]?.image.digest);

    // 60 functions: 2 ListFunctions pages; per image function one GetFunction, one
    // ListVersionsByFunction, one ListAliases, and one GetFunction per version (first time only).
    expect(emu.calls.get('ListFunctions')).toBe(2);
    expect(emu.calls.get('ListVersionsByFunction')).toBe(50);
    expect(emu.calls.get('ListAliases')).toBe(50);
    expect(emu.calls.get('GetFunction')).toBe(50 + 150);
  });

  it('reads each published version image once ever: a second listing with the same cache calls GetFunction per function only', async () => {
    emu = await startLambdaEmulator({ throttling: { enabled: false } });
    emu.fleet.generate({ regions: [REGION], functions: 10, versionsPerFunction: 4 });
    const cache = new MemoryCache();
    const first = createLambdaAdapter(lambdaConfig(emu.endpoint), makeDeps(undefined, cache));
    adapters.push(first);
    await listAll(functionsSource(first).functions);
    emu.calls.reset();
    const second = createLambdaAdapter(lambdaConfig(emu.endpoint), makeDeps(undefined, cache));
    adapters.push(second);
    const { items } = await listAll(functionsSource(second).functions);
    expect(workloads(items)).toHaveLength(50);
    expect(emu.calls.get('GetFunction')).toBe(10);
  });

  it('alias weights decide serving: the primary and every additional version with weight above 0', async () => {
    emu = await startLambdaEmulator({ throttling: { enabled: false } });
    const f = emu.fleet;
    f.createFunction({ name: 'api', imageUri: `${REPO}/api:1` });
    for (let i = 0; i < 3; i++) f.publishVersion({ name: 'api' });
    f.setAlias({ name: 'api', alias: 'live', version: '3', weights: { '2': 0.2, '1': 0 } });
    const a = createLambdaAdapter(lambdaConfig(emu.endpoint), makeDeps());
    adapters.push(a);
    const { items } = await listAll(functionsSource(a).functions);
    const status = Object.fromEntries(
      workloads(items)
        .filter((x) => x.kind === 'ReplicaSet')
        .map((x) => [x.name, x.status]),
    );
    expect(status).toEqual({ 'api:1': 'Published', 'api:2': 'Serving', 'api:3': 'Serving' });
  });

  it('a function gone reads as undefined with its versions; a missing permission names the lambda: action', async () => {
    emu = await startLambdaEmulator({ throttling: { enabled: false } });
    emu.fleet.createFunction({ name: 'api', imageUri: `${REPO}/api:1` });
    emu.fleet.publishVersion({ name: 'api' });
    const a = createLambdaAdapter(lambdaConfig(emu.endpoint), makeDeps());
    adapters.push(a);
    const r = functionsSource(a);
    const { items } = await listAll(r.functions);
    const keys = items.map((o) => r.functions.keyOf(o)).filter((k) => k.startsWith('workload/'));
    expect(keys).toHaveLength(2);
    emu.fleet.deleteFunction({ name: 'api' });
    const got = await r.functions.getMany(keys);
    expect([...got.values()]).toEqual([undefined, undefined]);

    emu.faults.denyActions(['ListAliases']);
    emu.fleet.createFunction({ name: 'b' });
    const err: unknown = await r.functions.list(undefined).catch((e: unknown) => e);
    expect(deniedPermission(err)).toBe('lambda:ListAliases');
  });

  it('survives throttling: a 429 storm on GetFunction is retried and the listing completes', async () => {
    emu = await startLambdaEmulator({ throttling: { enabled: false } });
    emu.fleet.generate({ regions: [REGION], functions: 5, versionsPerFunction: 1 });
    emu.faults.serverErrors(2, ['GetFunction'], 429, 'TooManyRequestsException');
    const a = createLambdaAdapter(lambdaConfig(emu.endpoint), makeDeps());
    adapters.push(a);
    const { items } = await listAll(functionsSource(a).functions);
    expect(workloads(items)).toHaveLength(10);
    expect(
      emu.calls.throttled('GetFunction') + (emu.faults.injected.get('GetFunction') ?? 0),
    ).toBeGreaterThan(0);
  });
});
