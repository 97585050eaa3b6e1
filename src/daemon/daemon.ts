/**
 * The whole watcher for one customer account: state database → console client → HTTP server →
 * provider adapters → one watch per source, each delivering into the ConsoleSink (durable on
 * return), plus adapter activity → heartbeats.
 *
 * Promises: /readyz turns ready once every source finished its first list or was denied (the
 * provider refuses its list for a missing permission: ready, degraded); /healthz reflects the
 * console client, the state database and the outbox bound, and always shows the outbox and the rows
 * set aside in `checks.console.detail` (pending, rejected, rejectedEvicted, lastRejected; no
 * payload), and names every denied source with its permission in `checks.permissions`
 * (permissions-check.ts); `stop()` stops sources first, then flushes the console client within its
 * deadline, then closes the HTTP server and the database.
 * /livez is only the event loop and the state database being writable (daemon/liveness.ts).
 * After a loss of state (a fresh or rebuilt database, or `requestResync`) the full-state resync is
 * queued once every source's first list reached the sink (a denied source holds it back: the
 * resync would make the console drop every object of the kind we cannot list). The state directory
 * is locked for the life of the process (state/dir-lock.ts).
 * Failure: a source that cannot start (e.g. listing regions fails) is retried with backoff and
 * keeps /readyz pending; it never takes the process down. A state directory another daemon holds,
 * or a database from a newer sightline, makes `start()` throw StateRefusedError (run: exit 2).
 */
import type { Subscription } from 'rxjs';
import { filter, take } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ClusterObject } from '../model/index.js';
import { internObject } from '../model/share.js';
import type { ProviderAdapter } from '../provider/adapter.js';
import { Health } from '../runtime/health.js';
import { startHttpServer } from '../runtime/http-server.js';
import type { HttpServerHandle } from '../runtime/http-server.js';
import { CoreMetrics } from '../runtime/metrics.js';
import type { Registry } from '../runtime/metrics.js';
import { systemScheduler } from '../runtime/clock.js';
import { lockStateDir, openStateDatabase } from '../state/index.js';
import type { StateDatabase, StateDirLock } from '../state/index.js';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { EventLoopWatch } from '../runtime/event-loop-watch.js';
import { stateLivenessCheck } from './liveness.js';
import { permissionsCheck } from './permissions-check.js';
import type { DeniedSource } from './permissions-check.js';
import { mkdirSync } from 'node:fs';
import { ConsoleClient, ConsoleSink, consoleCheck } from '../console/index.js';
import { createWatch } from '../watch/index.js';
import type { Watch } from '../watch/index.js';
import type { WatchEvent } from '../watch/events.js';
import type { WatchSource } from '../watch/source.js';
import { createAdapters, createBudget } from './adapters.js';
import { retryForever } from './retry.js';
import { defaults } from '../config/defaults.js';
import type { LeaderEpoch } from '../leader/epoch.js';

export interface DaemonOptions {
  logger: Logger;
  registry: Registry;
  agentVersion: string;
  scheduler?: SchedulerLike;
  /** Called after each event was made durable (the demo prints sightings from it). */
  onEvent?: (event: WatchEvent<ClusterObject>) => void;
  /** Called with the state database's connection once open (fault tests cap its size: a full disk). */
  onStateDatabaseOpen?: (db: SqliteDatabase) => void;
  /**
   * Leader election (see elected.ts): this Daemon runs one leadership term. Every push carries
   * `epoch`; a fenced push calls `onFenced`; the term starts with a full-state resync (the state
   * directory may be older than what another replica pushed); the elected wrapper serves HTTP.
   */
  term?: { epoch: LeaderEpoch; onFenced: (detail: string) => void };
}

export class Daemon {
  readonly health = new Health();
  readonly metrics: CoreMetrics;
  private readonly scheduler: SchedulerLike;
  private readonly abort = new AbortController();
  private db: StateDatabase | undefined;
  private lock: StateDirLock | undefined;
  private eventLoop: EventLoopWatch | undefined;
  private client: ConsoleClient | undefined;
  private http: HttpServerHandle | undefined;
  private adapters: ProviderAdapter[] = [];
  private readonly watches: Watch<ClusterObject>[] = [];
  /** The watch of each source, by source id (for the permissions check). */
  private readonly watchBySource = new Map<string, Watch<ClusterObject>>();
  private readonly subscriptions: Subscription[] = [];
  private starting: Promise<void> | undefined;
  /** Sources created, and those whose first full list reached the sink (RELIST done delivered). */
  private readonly sources = new Set<string>();
  /** Each started source by id, for its `durable` acknowledgement after the sink wrote. */
  private readonly sourceById = new Map<string, WatchSource<ClusterObject>>();
  private readonly listed = new Set<string>();
  private adaptersStarting = 0;
  private sink: ConsoleSink | undefined;

  constructor(
    readonly config: Config,
    private readonly options: DaemonOptions,
  ) {
    this.metrics = new CoreMetrics(options.registry);
    this.scheduler = options.scheduler ?? systemScheduler;
  }

  /** The HTTP port actually bound (after start). */
  get httpPort(): number | undefined {
    return this.http?.port;
  }

  get stateDatabase(): StateDatabase | undefined {
    return this.db;
  }

  /** Starts everything; resolves once servers are up and sources are being started. */
  async start(): Promise<void> {
    const { config } = this;
    const { logger } = this.options;
    // One daemon per state directory (a second one throws StateRefusedError: exit 2).
    mkdirSync(config.stateDir, { recursive: true });
    this.lock = lockStateDir(config.stateDir);
    const db = openStateDatabase(config.stateDir, {
      logger,
      metrics: this.metrics,
      maxBytes: config.console.outboxMaxBytes,
      nowMs: () => this.scheduler.now(),
      ...(this.options.onStateDatabaseOpen ? { onOpen: this.options.onStateDatabaseOpen } : {}),
    });
    this.db = db;
    if (db.openStatus.state === 'recovered') {
      logger.error(
        { reason: db.openStatus.reason, movedTo: db.openStatus.movedTo },
        'state database was unreadable: set aside, relisting',
      );
    }
    this.health.addCheck('state', () => {
      if (db.closed) return { ok: false, reason: 'state database closed' };
      const unwritable = db.writeHealth.describe();
      return unwritable === undefined ? { ok: true } : { ok: false, reason: unwritable };
    });
    // Liveness: only what a restart could fix (see Health); never the console nor the providers.
    const eventLoop = new EventLoopWatch(this.scheduler);
    this.eventLoop = eventLoop;
    eventLoop.start();
    this.health.addLivenessCheck('eventLoop', () => eventLoop.check());
    this.health.addLivenessCheck(
      'state',
      stateLivenessCheck(db, () => this.scheduler.now()),
    );
    const term = this.options.term;
    // A new leader's snapshot may be older than what the previous leader pushed: resync the console.
    if (term !== undefined) db.requestResync(this.scheduler.now());
    const sink = new ConsoleSink(db, { logger, scheduler: this.scheduler });
    this.sink = sink;
    if (db.resyncPending !== undefined)
      logger.info(
        { generation: db.resyncPending },
        'state database has no state the console can trust: a full-state resync per cluster follows the first full lists',
      );
    const client = new ConsoleClient(config.console, {
      db,
      logger,
      metrics: this.metrics,
      scheduler: this.scheduler,
      heartbeatIntervalMs: config.intervals.heartbeatIntervalMs,
      ...(term !== undefined ? { epoch: term.epoch, onFenced: term.onFenced } : {}),
    });
    this.client = client;
    client.start();
    // Healthy or not, /healthz shows the outbox and what was set aside (checks.console.detail).
    this.health.addCheck('console', () => consoleCheck(client.health()));
    this.health.addCheck('permissions', () => permissionsCheck(this.deniedSources()));
    if (term === undefined) {
      this.http = await startHttpServer(config.http.listen, this.health, this.options.registry);
      logger.info({ listen: `${this.http.host}:${this.http.port}` }, 'operations server listening');
    }

    const budget = createBudget(config, this.scheduler, this.metrics, logger);
    const adapters = await createAdapters(config, {
      logger,
      metrics: this.metrics,
      budget,
      scheduler: this.scheduler,
      cache: db,
      tenant: config.tenant,
      agentVersion: this.options.agentVersion,
      clusterPollIntervalMs: config.intervals.clusterPollIntervalMs,
    });
    if (this.abort.signal.aborted) {
      // Stopped while the adapters loaded: nothing of theirs may outlive the daemon.
      await Promise.allSettled(adapters.map((a) => a.close()));
      return;
    }
    this.adapters = adapters;
    for (const adapter of this.adapters) {
      this.health.expectReady(`${adapter.provider}:sources`);
      const feedHealth = adapter.health?.bind(adapter);
      if (feedHealth) this.health.addCheck(`${adapter.provider}:changeFeed`, feedHealth);
      this.subscriptions.push(adapter.activity$.subscribe((a) => sink.activity(a)));
    }
    const deliver = (event: WatchEvent<ClusterObject>): void => {
      sink.handle(event);
      // Written: a pushed feed may now acknowledge what this cursor covers (at least once end to end).
      if ((event.type === 'BOOKMARK' || (event.type === 'RELIST' && event.phase === 'done')) && event.cursor)
        this.sourceById.get(event.sourceId)?.durable?.(event.cursor);
      if (event.type === 'RELIST' && event.phase === 'done') {
        this.listed.add(event.sourceId);
        // Throws like handle (disk full): the queue retries this RELIST done, and the resync with it.
        this.maybeResync();
      }
      this.options.onEvent?.(event);
    };
    this.adaptersStarting = this.adapters.length;
    this.starting = Promise.all(this.adapters.map((a) => this.startAdapter(a, deliver))).then(
      () => undefined,
    );
  }

  /**
   * Appends the resync the state database owes the console (a fresh or rebuilt database, or
   * `requestResync`) once every adapter created its sources and every source's first full list
   * reached the sink. A no-op otherwise.
   */
  private maybeResync(): void {
    const db = this.db;
    const sink = this.sink;
    if (db === undefined || sink === undefined || db.closed || db.resyncPending === undefined) return;
    if (this.adaptersStarting > 0) return;
    for (const id of this.sources) if (!this.listed.has(id)) return;
    const r = sink.resync();
    if (r !== undefined)
      this.options.logger.info(
        r,
        'full-state resync queued for the console (it drops what these clusters no longer hold)',
      );
  }

  /** The sources whose list the provider refuses for a missing permission, with that permission. */
  deniedSources(): DeniedSource[] {
    const out: DeniedSource[] = [];
    for (const [source, watch] of this.watchBySource) {
      const permission = watch.denied;
      if (permission !== undefined) out.push({ source, permission });
    }
    return out;
  }

  /** Resolves when every adapter's sources were created (not necessarily synced). */
  async sourcesStarted(): Promise<void> {
    await this.starting;
  }

  private async startAdapter(
    adapter: ProviderAdapter,
    deliver: (e: WatchEvent<ClusterObject>) => void,
  ): Promise<void> {
    const { logger } = this.options;
    const sources = await retryForever(`${adapter.provider} sources`, () => adapter.sources(), {
      logger,
      scheduler: this.scheduler,
      signal: this.abort.signal,
    });
    if (!sources || this.abort.signal.aborted) return;
    for (const source of sources) {
      this.sources.add(source.id);
      this.sourceById.set(source.id, source);
      this.health.expectReady(source.id);
      const initial = this.db?.loadCheckpoint(source.id);
      const watch = createWatch(source, {
        scheduler: this.scheduler,
        resyncPeriodMs: this.config.intervals.resyncPeriodMs,
        watchdogTimeoutMs: this.config.intervals.watchdogTimeoutMs,
        deliver,
        retain: internObject,
        metrics: this.metrics,
        logger: logger.child({ source: source.id }),
        ...(initial ? { initial } : {}),
      });
      this.subscriptions.push(
        watch.synced$.pipe(filter(Boolean), take(1)).subscribe(() => {
          this.health.markReady(source.id);
          this.metrics.sourceReady.set({ source: source.id }, 1);
          logger.info({ source: source.id, objects: watch.store.size }, 'source synced');
        }),
        // Denied (a missing permission): ready, degraded; /healthz `permissions` names it.
        watch.denied$
          .pipe(
            filter((p) => p !== undefined),
            take(1),
          )
          .subscribe(() => {
            this.health.markReady(source.id);
          }),
      );
      this.watches.push(watch);
      this.watchBySource.set(source.id, watch);
      watch.start();
    }
    this.health.markReady(`${adapter.provider}:sources`);
    logger.info({ provider: adapter.provider, sources: sources.length }, 'provider started');
    this.adaptersStarting -= 1;
    try {
      this.maybeResync();
    } catch (err) {
      // The state database refused the write (disk full): the next source's list done retries it.
      logger.warn({ err }, 'could not queue the full-state resync yet; retrying after the next list');
    }
  }

  /** Leadership lost: no push leaves from now on and start-up steps end; `stop()` cleans up. */
  halt(): void {
    this.abort.abort();
    this.client?.halt();
  }

  /**
   * Stops sources, then flushes the console client for up to `flushDeadlineMs` (default: 60 % of
   * the shutdown deadline, leaving the rest for closing), then closes everything and releases the
   * state directory. What was not sent is durable in the outbox. 0 (leadership lost): nothing more
   * is sent.
   */
  /** Resolves once the state database's background thread has closed too (after stop()). */
  whenStateClosed(): Promise<void> {
    return this.db?.whenClosed() ?? Promise.resolve();
  }

  async stop(flushDeadlineMs: number = Math.round(defaults.shutdownDeadlineMs * 0.6)): Promise<void> {
    if (flushDeadlineMs === 0) this.halt();
    this.abort.abort();
    for (const s of this.subscriptions) s.unsubscribe();
    await Promise.allSettled(this.watches.map((w) => w.stop()));
    await Promise.allSettled(this.adapters.map((a) => a.close()));
    this.sink?.close();
    await this.client?.stop(flushDeadlineMs);
    await this.http?.close();
    this.eventLoop?.stop();
    this.db?.close();
    this.lock?.release();
    this.lock = undefined;
  }
}
