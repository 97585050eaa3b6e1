/**
 * The services one read round fetched (GetService), so that a family expansion reads each service
 * once: the engine's worker reads a hinted service (round N), asks `childKeysOf` for its serving
 * revisions (answered from round N), then reads those revisions (round N+1, which checks each
 * revision against its service as round N read it). Concurrent reads of one service in a round
 * share one call.
 *
 * Promises: a read of a service itself (`current`) is never older than its round, so a hint for a
 * service always reads it again; only a revision's check against its service (`service`) may reuse
 * the round before's read. A new round replaces the old one and a list drops it, so nothing here
 * outlives one family expansion and no per-object memory is kept beside the engine's store.
 *
 * Failure: a failed read rejects the reads of that service waiting on it and is forgotten, so the
 * engine's retry of the round reads it again.
 */
import type { protos } from '@google-cloud/run';

type IService = protos.google.cloud.run.v2.IService;

export class ServiceRound {
  private readonly fetched = new Map<string, Promise<IService | undefined>>();

  constructor(
    private readonly read: (name: string) => Promise<IService | undefined>,
    private readonly previous?: ReadonlyMap<string, Promise<IService | undefined>>,
  ) {}

  /**
   * The service `name` as this round or the round before it read it, reading it if neither did:
   * what a revision's check against its service uses (the family round after the parent's).
   */
  service(name: string): Promise<IService | undefined> {
    return this.previous?.get(name) ?? this.current(name);
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
    reading.catch(() => this.fetched.delete(name));
    return reading;
  }

  /** The next round: it may reuse what this one read, and nothing older. */
  next(): ServiceRound {
    return new ServiceRound(this.read, this.fetched);
  }
}
