/**
 * Test harness: an emulator, a CloudRunConfig pointing at it (plaintext, no credentials), ProviderDeps
 * with a private metrics registry, and helpers to drain list pages and collect hints. A source under
 * test gets a store attached as the watch engine would (`storeOf`), holding what it listed and the
 * states its hints carried, so per-object reads go through the store as they do under the engine.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualTimeScheduler, asyncScheduler } from 'rxjs';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { pino } from 'pino';
import { vi } from 'vitest';
import type { CloudRunEmulator, CloudRunEmulatorOptions } from '../../adapters/cloudrun/emulator/index.js';
import { startCloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { createCloudRunAdapter } from '../../adapters/cloudrun/index.js';
import type { CloudRunConfig } from '../../adapters/cloudrun/config.js';
import type { ProviderAdapter, ProviderDeps } from '../../src/provider/adapter.js';
import type { AgentActivity, ClusterObject, Workload } from '../../src/model/index.js';
import type { Hint, WatchSource } from '../../src/watch/source.js';
import { createWatch } from '../../src/watch/engine.js';
import type { WatchEvent } from '../../src/watch/events.js';
import type { Watch } from '../../src/watch/types.js';
import { ApiBudget } from '../../src/watch/budget.js';
import type { BucketLimit } from '../../src/watch/budget.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { MemoryCache } from '../../src/provider/cache.js';
import { MapWatchStore } from '../../src/watch/store.js';

/** RPCs the adapter may call: read-only methods covered by roles/run.viewer + roles/logging.viewer. */
export const LEAST_PRIVILEGE_RPCS: ReadonlySet<string> = new Set([
  'google.cloud.location.Locations/ListLocations',
  'google.cloud.run.v2.Services/ListServices',
  'google.cloud.run.v2.Services/GetService',
  'google.cloud.run.v2.Revisions/ListRevisions',
  'google.cloud.run.v2.Revisions/GetRevision',
  'google.cloud.run.v2.Jobs/ListJobs',
  'google.cloud.run.v2.Jobs/GetJob',
  'google.cloud.run.v2.Executions/ListExecutions',
  'google.cloud.run.v2.Executions/GetExecution',
  'google.cloud.run.v2.WorkerPools/ListWorkerPools',
  'google.cloud.run.v2.WorkerPools/GetWorkerPool',
  'google.logging.v2.LoggingServiceV2/ListLogEntries',
  'google.logging.v2.LoggingServiceV2/TailLogEntries',
  'v1:GetRevision',
  'v1:ListRevisions',
]);

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const samplesDir = path.resolve(repoRoot, 'test', 'fixtures', 'samples');

export interface Harness {
  emu: CloudRunEmulator;
  config: CloudRunConfig;
  deps: ProviderDeps;
  metrics: CoreMetrics;
  adapter: ProviderAdapter;
  activity: AgentActivity[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  emulator?: CloudRunEmulatorOptions;
  projects?: string[];
  regions?: CloudRunConfig['regions'];
  config?: Partial<CloudRunConfig>;
  scheduler?: SchedulerLike;
  budget?: Record<string, BucketLimit>;
}

export function configFor(
  emu: CloudRunEmulator,
  projects: string[],
  regions: CloudRunConfig['regions'],
  extra: Partial<CloudRunConfig> = {},
): CloudRunConfig {
  return {
    projects,
    regions,
    credentials: { source: 'none' },
    endpoints: {
      run: `127.0.0.1:${emu.runEndpoint.port}`,
      logging: `127.0.0.1:${emu.loggingEndpoint.port}`,
      runV1: emu.runV1BaseUrl,
      ...(emu.pubsubEndpoint ? { pubsub: `127.0.0.1:${emu.pubsubEndpoint.port}` } : {}),
      insecure: true,
    },
    tailBufferWindowMs: 0,
    logPollIntervalMs: 200,
    digestRetryIntervalMs: 200,
    livePollIntervalMs: 300_000,
    changeFeed: { source: 'tail' },
    ...extra,
  };
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const emu = await startCloudRunEmulator(o.emulator);
  const projects = o.projects ?? ['proj-alpha'];
  const config = configFor(emu, projects, o.regions ?? ['us-central1'], o.config);
  const metrics = new CoreMetrics(new Registry());
  const scheduler = o.scheduler ?? asyncScheduler;
  const deps: ProviderDeps = {
    logger: pino({ level: 'silent' }),
    metrics,
    budget: new ApiBudget(o.budget ?? {}, 1, scheduler),
    scheduler,
    cache: new MemoryCache(),
    tenant: { group: 'group-1', issuer: 'https://issuer.example' },
    agentVersion: '0.1.0-test',
    clusterPollIntervalMs: 5_000,
  };
  const adapter = createCloudRunAdapter(config, deps);
  const activity: AgentActivity[] = [];
  const sub = adapter.activity$.subscribe((a) => activity.push(a));
  return {
    emu,
    config,
    deps,
    metrics,
    adapter,
    activity,
    async close() {
      sub.unsubscribe();
      await adapter.close();
      await emu.stop();
    },
  };
}

export type RunKindName = 'clusters' | 'services' | 'jobs' | 'workerpools';

/** The source of one kind of `project` (`cloudrun/<project>/<kind>`). */
export async function sourceFor(
  h: Harness,
  project: string,
  kind: RunKindName = 'services',
): Promise<WatchSource<ClusterObject>> {
  const s = (await h.adapter.sources()).find((x) => x.id === `cloudrun/${project}/${kind}`);
  if (!s) throw new Error(`no ${kind} source for ${project}`);
  return s;
}

/** Every kind source of `project`. */
export async function sourcesOf(h: Harness, project: string): Promise<WatchSource<ClusterObject>[]> {
  return (await h.adapter.sources()).filter((x) => x.id.startsWith(`cloudrun/${project}/`));
}

/** Lists every kind source of `project` (as the engines of its sources would), items in kind order. */
export async function listProject(
  h: Harness,
  project: string,
): Promise<{ items: ClusterObject[]; pages: number }> {
  const items: ClusterObject[] = [];
  let pages = 0;
  for (const source of await sourcesOf(h, project)) {
    const r = await listAll(source);
    items.push(...r.items);
    pages += r.pages;
  }
  return { items, pages };
}

const stores = new WeakMap<WatchSource<ClusterObject>, MapWatchStore<ClusterObject>>();

/** The store attached to `source` (created and attached on first use), as the watch engine keeps it. */
export function storeOf(source: WatchSource<ClusterObject>): MapWatchStore<ClusterObject> {
  let store = stores.get(source);
  if (store === undefined) {
    store = new MapWatchStore<ClusterObject>(source.indexers);
    stores.set(source, store);
    source.attachStore?.(store);
  }
  return store;
}

function keep(source: WatchSource<ClusterObject>, object: ClusterObject): void {
  storeOf(source).set(source.keyOf(object), {
    object,
    hash: source.hashOf(object),
    order: source.orderOf(object),
    seen: 0,
  });
}

export async function listAll(
  source: WatchSource<ClusterObject>,
): Promise<{ items: ClusterObject[]; pages: number; cursor?: string }> {
  const items: ClusterObject[] = [];
  let token: string | undefined;
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await source.list(token);
    pages += 1;
    if (pages === 1) cursor = page.cursor;
    items.push(...page.items);
    for (const o of page.items) keep(source, o);
    token = page.nextPageToken;
  } while (token !== undefined);
  return cursor === undefined ? { items, pages } : { items, pages, cursor };
}

export function workloads(items: ClusterObject[]): Workload[] {
  return items.flatMap((o) => (o.kind === 'workload' ? [o.workload] : []));
}

export function byName(items: ClusterObject[], nativeKind: string, name: string): Workload | undefined {
  return workloads(items).find((w) => w.nativeKind === nativeKind && w.name === name);
}

export interface HintLog {
  hints: Hint<ClusterObject>[];
  errors: unknown[];
  sub: Subscription;
  /** Waits until a hint matching `pred` arrived and returns it. */
  waitFor(
    pred: (h: Hint<ClusterObject>) => boolean,
    what?: string,
    timeoutMs?: number,
  ): Promise<Hint<ClusterObject>>;
  /** Waits for the bookmark that follows catch-up. */
  ready(): Promise<void>;
}

export function collectHints(source: WatchSource<ClusterObject>, fromCursor?: string): HintLog {
  const hints: Hint<ClusterObject>[] = [];
  const errors: unknown[] = [];
  const store = storeOf(source);
  const sub = source.hints(fromCursor).subscribe({
    next: (h) => {
      hints.push(h);
      if (h.type === 'changed' && h.state !== undefined) keep(source, h.state);
      if (h.type === 'deleted') store.delete(h.key);
    },
    error: (e: unknown) => errors.push(e),
  });
  const waitFor = (pred: (h: Hint<ClusterObject>) => boolean, what = 'hint', timeoutMs = 10_000) =>
    vi.waitFor(
      () => {
        const h = hints.find(pred);
        if (!h)
          throw new Error(
            `no ${what} yet; got ${hints.map((x) => x.type).join(',')}; errors ${errors.map(String).join(',')}`,
          );
        return h;
      },
      { timeout: timeoutMs, interval: 10 },
    );
  return {
    hints,
    errors,
    sub,
    waitFor,
    async ready() {
      await waitFor((h) => h.type === 'bookmark', 'bookmark');
    },
  };
}

export interface EventLog {
  /** One watch engine per source, in the order given. */
  watches: Watch<ClusterObject>[];
  /** The events of every watch, in arrival order. */
  events: WatchEvent<ClusterObject>[];
  errors: unknown[];
  /** Waits until an event matching `pred` was emitted and returns it. */
  waitFor(
    pred: (e: WatchEvent<ClusterObject>) => boolean,
    what?: string,
    timeoutMs?: number,
  ): Promise<WatchEvent<ClusterObject>>;
  stop(): Promise<void>;
}

/**
 * Runs one watch engine per source (list, then hints from the list's cursor), as the daemon does
 * for the kind sources of a project, and records their events in one log; resolves once all synced.
 */
export async function watchSource(
  sources: WatchSource<ClusterObject> | WatchSource<ClusterObject>[],
): Promise<EventLog> {
  const list = Array.isArray(sources) ? sources : [sources];
  const watches = list.map((source) => createWatch(source, { logger: pino({ level: 'silent' }) }));
  const events: WatchEvent<ClusterObject>[] = [];
  const errors: unknown[] = [];
  const subs = watches.map((watch) =>
    watch.events$.subscribe({ next: (e) => events.push(e), error: (e: unknown) => errors.push(e) }),
  );
  for (const watch of watches) watch.start();
  await vi.waitFor(
    () => {
      if (!watches.every((w) => w.synced)) throw new Error('not synced yet');
    },
    { timeout: 10_000, interval: 10 },
  );
  const waitFor = (pred: (e: WatchEvent<ClusterObject>) => boolean, what = 'event', timeoutMs = 10_000) =>
    vi.waitFor(
      () => {
        const e = events.find(pred);
        if (!e) throw new Error(`no ${what} yet; got ${events.map((x) => x.type).join(',')}`);
        return e;
      },
      { timeout: timeoutMs, interval: 10 },
    );
  return {
    watches,
    events,
    errors,
    waitFor,
    async stop() {
      await Promise.all(watches.map((w) => w.stop()));
      for (const sub of subs) sub.unsubscribe();
    },
  };
}

/** The workload of an ADDED / MODIFIED event with this native kind and name. */
export function eventWorkload(
  e: WatchEvent<ClusterObject>,
  nativeKind: string,
  name: string,
): Workload | undefined {
  if ((e.type !== 'ADDED' && e.type !== 'MODIFIED') || e.object.kind !== 'workload') return undefined;
  const w = e.object.workload;
  return w.nativeKind === nativeKind && w.name === name ? w : undefined;
}

export async function metricValue(
  metrics: CoreMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  let total = 0;
  for (const v of m?.values ?? []) {
    if (Object.entries(labels).every(([k, x]) => v.labels[k] === x)) total += v.value;
  }
  return total;
}

/** A virtual clock that records when each scheduled action is due, and moves only when told. */
export class RecordingClock implements SchedulerLike {
  readonly time = new VirtualTimeScheduler();
  /** Due times (virtual ms) of every action scheduled so far. */
  readonly due: number[] = [];

  now(): number {
    return this.time.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    this.due.push(this.time.now() + delay);
    return this.time.schedule(work, delay, state);
  }

  /** Runs every action due within `ms` and moves the clock by `ms`. */
  advance(ms: number): void {
    const target = this.time.now() + ms;
    this.time.maxFrames = target;
    this.time.flush();
    this.time.frame = target;
  }
}
