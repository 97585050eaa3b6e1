/**
 * The contract between provider adapters and the watch engine (see
 * docs/reference/watch-semantics.md). An adapter implements one WatchSource per resource kind
 * and scope; the engine turns it into ADDED / MODIFIED / DELETED / BOOKMARK events.
 *
 * Failure: every method may reject. A rejection carrying `isThrottling(err) === true` makes the
 * engine back off without relisting; a `list` rejection carrying `deniedPermission(err)` (the
 * caller lacks a permission) makes the source "denied": its store is kept, and the list is retried
 * every `deniedRetryMs` instead of the short backoff; any other rejection backs off (client-go
 * constants) and retries.
 */
import type { Observable } from 'rxjs';
import type { Indexers, WatchStore } from './store.js';

export type { Indexers, WatchStore };
/** A store with nothing in it: what a source reads before the engine attaches its own. */
export { emptyWatchStore } from './store.js';

export interface ListPage<T> {
  items: T[];
  /** Absent on the last page. */
  nextPageToken?: string;
  /**
   * Only on the first page: the position in the change feed from which hints must be read so that
   * nothing that happened after the list began is missed (e.g. an audit-log timestamp taken just
   * before listing). Opaque to the engine.
   */
  cursor?: string;
}

/**
 * A key, or a key with the provider's name of its object (`ref`), for a source whose keys cannot be
 * read back (a one-way hash of the name): while the store does not hold the key, the engine hands
 * `ref` back to `get` / `getMany` with it. The engine keeps a ref only with a pending key.
 */
export type NamedKey = string | { key: string; ref: string };

/** A cheap poll's token for a key, or the token with the object's provider name (see NamedKey). */
export type PollToken = string | { token: string; ref: string };

/** The key of a NamedKey. */
export function keyOfNamed(k: NamedKey): string {
  return typeof k === 'string' ? k : k.key;
}

/** The token of a PollToken. */
export function tokenOf(t: PollToken): string {
  return typeof t === 'string' ? t : t.token;
}

export type Hint<T> =
  /** The object may have changed. `state`, when given, is its full new normalized state. */
  | { type: 'changed'; key: string; state?: T; cursor?: string; ref?: string }
  /** The object is gone according to the feed (a delete event). The engine confirms with get(). */
  | { type: 'deleted'; key: string; cursor?: string; ref?: string }
  /**
   * This parent object and its children (the store's objects filed under `key` in the index
   * `index`) may have changed. The engine reads the parent, then every child it names
   * (`childKeysOf`) or the index holds; an indexed child the reads find gone, or every indexed
   * child of a parent found gone, becomes a DELETED tombstone.
   */
  | { type: 'family'; key: string; index: string; cursor?: string; ref?: string }
  /** The feed cannot prove it delivered everything since the cursor (410 analogue): relist. */
  | { type: 'gap'; reason: string }
  /** Nothing changed up to `cursor`; persist it. */
  | { type: 'bookmark'; cursor: string };

/**
 * The part of the store a partial cheap poll covers: the keys the store files under any of `values`
 * in its named index `index` (`WatchStore.byIndex`; an index the source does not declare covers
 * nothing).
 */
export interface PollScope {
  readonly index: string;
  readonly values: readonly string[];
}

/**
 * A cheap poll's tokens for part of the source's scope only: a token map (the same contract as a
 * full poll's) that is complete for the stored keys under `scope` and says nothing of the others.
 */
export class PartialPoll extends Map<string, PollToken> {
  constructor(readonly scope: PollScope) {
    super();
  }
}

export interface CheapPoll {
  /** How often to poll, before budget stretching. Read each time the engine schedules a poll. */
  intervalMs: number;
  /**
   * Emits whenever `intervalMs` may have changed (e.g. the change feed that made the poll a safety
   * net went down). The engine reads `intervalMs` again and brings a scheduled poll forward to at
   * most that far from now; it never pushes one back (a longer interval applies from the next
   * schedule) nor ahead of a failed poll's backoff. Absent: the interval is read only when a poll
   * is scheduled.
   */
  readonly intervalChanges$?: Observable<unknown>;
  /**
   * A fingerprint of the source's scope: key -> opaque token ('' when the provider gives none).
   * The engine fetches (getMany) only keys that are new, whose token changed, or that vanished.
   * Tokens are compared between consecutive polls only when both are non-empty (the engine keeps
   * just the non-empty ones), so a token that must force a fetch has to differ from its previous
   * non-empty value. A token may carry the object's provider name (`PollToken`, see NamedKey).
   *
   * A `PartialPoll` fingerprints its scope only: a key it gives is handled as above; a stored key
   * under its scope that it does not give has vanished (fetched); every other stored key is left
   * alone (neither fetched nor its previous token forgotten), so a partial poll costs the engine
   * what it covers, not the size of the store. The previous token of a key the store does not
   * hold is forgotten when a partial poll does not give it (shown again, it is read once more).
   */
  poll(): Promise<Map<string, PollToken>>;
}

export interface WatchSource<T> {
  /** Stable id, e.g. `ecs/123456789012/us-east-1/tasks`. Used for cursors, metrics and logs. */
  readonly id: string;
  /**
   * The object's key. The store keeps the string returned for as long as it holds the object:
   * return it flat (`objectKey` joins its parts), not as a rope of pieces built by `+`.
   */
  keyOf(obj: T): string;
  /**
   * A per-object order that really is monotonic (Cloud Run generation, ECS Task.version,
   * updateTime in ms). `undefined` when the provider gives none: then only the content hash counts.
   */
  orderOf(obj: T): number | undefined;
  /** Content hash of the normalized object: equal hashes mean "nothing changed". */
  hashOf(obj: T): string;
  list(pageToken: string | undefined): Promise<ListPage<T>>;
  /**
   * The current state, or undefined when the object no longer exists. `ref`: the provider name a
   * hint, poll or parent gave with the key (see NamedKey), when the store does not hold it.
   */
  get(key: string, ref?: string): Promise<T | undefined>;
  /** Batched get (adapters map it to their batch Describe calls). Missing keys mean "gone". */
  getMany?(keys: string[], refs?: ReadonlyMap<string, string>): Promise<Map<string, T | undefined>>;
  /**
   * The keys of the children `parent` says it has now (read with the parent when expanding a
   * `family` hint), each with its provider name if the source needs it back. Absent: only the
   * children the store's index holds are read.
   */
  childKeysOf?(parent: T): Promise<NamedKey[]> | NamedKey[];
  /** Change hints starting at `fromCursor` (undefined: from "now"). May complete or error: the engine resubscribes. */
  hints(fromCursor: string | undefined): Observable<Hint<T>>;
  cheapPoll?: CheapPoll;
  /**
   * Called by the daemon once every event the engine delivered up to a BOOKMARK or a RELIST done
   * carrying `cursor` is durable in the console outbox (synchronously after the sink wrote it).
   * A pushed feed acknowledges (deletes, acks) the messages that cursor covers here, so delivery
   * is at least once end to end. Never called for a cursor whose events the sink refused.
   */
  durable?(cursor: string): void;
  /**
   * How long the engine waits after the first hint of a quiet period before reading, so that the
   * several entries one provider operation writes (e.g. a deploy's activity and Ready entries)
   * cost one read round (default 0: read at once).
   */
  readonly hintSettleMs?: number;
  /**
   * Named indexes the engine keeps over its store (e.g. `owner`: an object's owner keys), read
   * through `WatchStore.byIndex` by the source and by the engine's parent expansion.
   */
  readonly indexers?: Indexers<T>;
  /**
   * Called once by the engine, before the first list, with its read-only store: what the engine
   * last knew of every key of this source (as an informer's indexer is shared by its listers). A
   * source that needs per-object facts between calls reads them here instead of keeping a second
   * copy of every object and key.
   */
  attachStore?(store: WatchStore<T>): void;
}

/** Marks an error as provider throttling (429, ThrottlingException, RESOURCE_EXHAUSTED on a quota). */
export class ThrottledError extends Error {
  readonly throttled = true;
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ThrottledError';
  }
}

export function isThrottling(err: unknown): boolean {
  if (err instanceof ThrottledError) return true;
  if (err !== null && typeof err === 'object') {
    const e = err as { name?: unknown; code?: unknown; throttled?: unknown };
    if (e.throttled === true) return true;
    if (e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException') return true;
    if (e.code === 8) return true; // gRPC RESOURCE_EXHAUSTED
  }
  return false;
}

/**
 * Marks an error as the provider refusing a call for lack of a permission (AWS AccessDenied,
 * gRPC PERMISSION_DENIED), naming the missing permission (`ecs:ListContainerInstances`,
 * `run.workerpools.list`). The message must already be free of secrets.
 */
export class PermissionDeniedError extends Error {
  readonly permissionDenied = true;
  constructor(
    message: string,
    readonly permission: string,
  ) {
    super(message);
    this.name = 'PermissionDeniedError';
  }
}

/**
 * The missing permission when `err` says the caller lacks one: a PermissionDeniedError, or any
 * object carrying `permissionDenied: true` and a non-empty string `permission` (an adapter's own
 * error class). Undefined otherwise.
 */
export function deniedPermission(err: unknown): string | undefined {
  if (err instanceof PermissionDeniedError) return err.permission;
  if (err !== null && typeof err === 'object') {
    const e = err as { permissionDenied?: unknown; permission?: unknown };
    if (e.permissionDenied === true && typeof e.permission === 'string' && e.permission !== '')
      return e.permission;
  }
  return undefined;
}
