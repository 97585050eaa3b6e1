/**
 * The services one read round fetched (GetService), so that a family expansion reads each service
 * once: the engine's worker reads a hinted service (round N), asks `childKeysOf` for its serving
 * revisions (answered from round N), then reads those revisions (round N+1, which checks each
 * revision against its service as round N read it). Concurrent reads of one service in a round
 * share one call.
 *
 * Promises: a read of a service itself (`current`) is never older than its round, so a hint for a
 * service always reads it again; a revision's check against its service (`service`) uses this
 * round's read of it, or the round before's only when that round named the service's children
 * (`childrenOf`): the revisions the expansion reads are checked against the very read that named
 * them, and a revision hinted on its own is checked against a fresh read. A new round replaces the
 * old one and a list drops it, so nothing here outlives one family expansion and no per-object
 * memory is kept beside the engine's store.
 *
 * Failure: a failed read rejects the reads of that service waiting on it and is forgotten, so the
 * engine's retry of the round reads it again.
 */
import type { protos } from '@google-cloud/run';

type IService = protos.google.cloud.run.v2.IService;

export class ServiceRound {
  private readonly fetched = new Map<string, Promise<IService | undefined>>();
  /** The services whose children `childrenOf` named in this round (handed to the next round). */
  private readonly expanded = new Map<string, Promise<IService | undefined>>();

  constructor(
    private readonly read: (name: string) => Promise<IService | undefined>,
    private readonly previous?: ReadonlyMap<string, Promise<IService | undefined>>,
  ) {}

  /**
   * The service `name` as this round read it, or as the round before read it when that round
   * named its children (the family round after the parent's), else read now (shared in the round):
   * what a revision's check against its service uses.
   */
  service(name: string): Promise<IService | undefined> {
    return this.fetched.get(name) ?? this.previous?.get(name) ?? this.current(name);
  }

  /**
   * The service `name` as this round read it, reading it if it did not: what a read of the
   * service itself uses (a hint for the service asks for its state now, never the round before's).
   */
  current(name: string): Promise<IService | undefined> {
    const known = this.fetched.get(name);
    if (known) return known;
    const reading = this.read(name);
    this.fetched.set(name, reading);
    // A failed read is not reused: the retry reads again.
    reading.catch(() => {
      this.fetched.delete(name);
      this.expanded.delete(name);
    });
    return reading;
  }

  /** Records `service` (undefined: gone) as this round's read of `name` (a list read it). */
  prefill(name: string, service: IService | undefined): void {
    if (!this.fetched.has(name)) this.fetched.set(name, Promise.resolve(service));
  }

  /** The service `name` for naming its children: this round's read, vouched for the next round. */
  childrenOf(name: string): Promise<IService | undefined> {
    const s = this.service(name);
    this.expanded.set(name, s);
    return s;
  }

  /** The next round: it may reuse the services whose children this one named, and nothing else. */
  next(): ServiceRound {
    return new ServiceRound(this.read, this.expanded);
  }
}
