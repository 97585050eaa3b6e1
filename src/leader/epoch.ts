/**
 * The fencing token of a leader: the Lease's `leaseTransitions` when this replica acquired it (it
 * grows by one every time the lease changes holder) and the holder identity (unique per process).
 * Every push carries it; the console refuses a push whose epoch is older than the newest it has
 * accepted for the same cluster, so an old leader that was paused cannot write after a new one did.
 */
export interface LeaderEpoch {
  term: number;
  holder: string;
}

/**
 * Orders two epochs: negative when `a` is older than `b`, 0 when equal, positive when newer. The
 * same term with another holder cannot come from one Lease (each change of holder increments the
 * term), so it is reported as NaN: neither may overwrite the other.
 */
export function compareEpochs(a: LeaderEpoch, b: LeaderEpoch): number {
  if (a.term !== b.term) return a.term - b.term;
  return a.holder === b.holder ? 0 : Number.NaN;
}

export function formatEpoch(e: LeaderEpoch): string {
  return `${e.term}/${e.holder}`;
}
