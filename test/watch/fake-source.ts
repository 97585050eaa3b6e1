/**
 * An in-memory fake provider for engine tests: objects with a monotonic global version, paged
 * list with a feed cursor, get/getMany, a change feed whose hints the test either lets flow
 * automatically or pushes by hand, optional cheap poll, and injectable failures.
 */
import { Observable } from 'rxjs';
import type { Subscriber } from 'rxjs';
import type { CheapPoll, Hint, ListPage, WatchSource } from '../../src/watch/source.js';

export interface FakeObj {
  key: string;
  kind?: string;
  version: number;
  data: string;
  /** The parent's key (family tests: filed under the `owner` index). */
  owner?: string;
  /** The children's keys the parent names (family tests: `childKeysOf`). */
  children?: string[];
}

type Failure = Error | undefined;

export class FakeProvider implements WatchSource<FakeObj> {
  readonly id: string;
  readonly objects = new Map<string, FakeObj>();
  pageSize = 2;
  /** Feed position: bumps with every mutation. */
  seq = 0;
  private version = 0;
  /** 'auto': mutations push hints to live subscribers; 'manual': the test pushes them. */
  feed: 'auto' | 'manual' = 'auto';
  hintWithState = false;
  readonly log: Array<{ seq: number; hint: Hint<FakeObj> }> = [];
  readonly subscribers = new Set<Subscriber<Hint<FakeObj>>>();
  readonly hintCursors: Array<string | undefined> = [];
  calls = { list: 0, get: 0, getMany: 0, poll: 0 };
  readonly getManyBatches: string[][] = [];
  readonly failures: { list: Failure[]; get: Failure[]; poll: Failure[] } = { list: [], get: [], poll: [] };
  hintsThrow: Error | undefined;
  cheapPoll?: CheapPoll;
  getMany?: (keys: string[]) => Promise<Map<string, FakeObj | undefined>>;

  constructor(options: { id?: string; getMany?: boolean; pollIntervalMs?: number } = {}) {
    this.id = options.id ?? 'fake/source';
    if (options.getMany !== false) {
      this.getMany = async (keys) => {
        this.calls.getMany++;
        this.getManyBatches.push([...keys]);
        this.maybeFail('get');
        const out = new Map<string, FakeObj | undefined>();
        for (const k of keys) {
          const o = this.objects.get(k);
          if (o) out.set(k, { ...o });
        }
        return out;
      };
    }
    if (options.pollIntervalMs !== undefined) {
      this.cheapPoll = {
        intervalMs: options.pollIntervalMs,
        poll: async () => {
          this.calls.poll++;
          this.maybeFail('poll');
          const m = new Map<string, string>();
          for (const o of this.objects.values()) m.set(o.key, String(o.version));
          return m;
        },
      };
    }
  }

  keyOf(o: FakeObj): string {
    return o.key;
  }
  orderOf(o: FakeObj): number {
    return o.version;
  }
  hashOf(o: FakeObj): string {
    return `${o.kind ?? ''}|${o.data}`;
  }

  private maybeFail(op: 'list' | 'get' | 'poll'): void {
    const f = this.failures[op].shift();
    if (f) throw f;
  }

  async list(pageToken: string | undefined): Promise<ListPage<FakeObj>> {
    this.calls.list++;
    this.maybeFail('list');
    const keys = [...this.objects.keys()].sort();
    const start = pageToken === undefined ? 0 : Number(pageToken);
    const items = keys
      .slice(start, start + this.pageSize)
      .map((k) => ({ ...(this.objects.get(k) as FakeObj) }));
    const page: ListPage<FakeObj> = { items };
    if (start + this.pageSize < keys.length) page.nextPageToken = String(start + this.pageSize);
    if (pageToken === undefined) page.cursor = String(this.seq);
    return page;
  }

  async get(key: string): Promise<FakeObj | undefined> {
    this.calls.get++;
    this.maybeFail('get');
    const o = this.objects.get(key);
    return o ? { ...o } : undefined;
  }

  hints(fromCursor: string | undefined): Observable<Hint<FakeObj>> {
    this.hintCursors.push(fromCursor);
    if (this.hintsThrow) {
      const err = this.hintsThrow;
      return new Observable((s) => s.error(err));
    }
    return new Observable<Hint<FakeObj>>((subscriber) => {
      this.subscribers.add(subscriber);
      return () => {
        this.subscribers.delete(subscriber);
      };
    });
  }

  /** Pushes a hint to every live subscriber. */
  push(hint: Hint<FakeObj>): void {
    for (const s of [...this.subscribers]) s.next(hint);
  }

  endFeed(err?: Error): void {
    for (const s of [...this.subscribers]) {
      if (err) s.error(err);
      else s.complete();
    }
  }

  put(key: string, data: string, kind?: string): FakeObj {
    const obj: FakeObj = { key, version: ++this.version, data };
    if (kind !== undefined) obj.kind = kind;
    this.objects.set(key, obj);
    this.seq++;
    const hint: Hint<FakeObj> = { type: 'changed', key, cursor: String(this.seq) };
    if (this.hintWithState) hint.state = { ...obj };
    this.record(hint);
    return obj;
  }

  remove(key: string): void {
    if (!this.objects.delete(key)) return;
    this.seq++;
    this.record({ type: 'deleted', key, cursor: String(this.seq) });
  }

  private record(hint: Hint<FakeObj>): void {
    this.log.push({ seq: this.seq, hint });
    if (this.feed === 'auto') this.push(hint);
  }
}
