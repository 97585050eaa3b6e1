/**
 * Isolating rejected items: sends a batch and, when the console rejects it as a whole (some item in
 * it is bad), splits it in two and sends the halves as their own batches, first half first,
 * recursively, until every good part is accepted and every bad item is alone. Parts are sent in
 * order, so an item never overtakes an earlier one (per-key order holds).
 *
 * The caller decides what a part is (`halves`: undefined to handle a rejected part whole) and what
 * happens to an accepted part and to a rejected part that is not split (`rejectedAlone`). Resolves
 * true when every part was accepted or handled; false as soon as a call failed (already recorded by
 * the call), `rejectedAlone` says stop, or `canCall`/`canHandle` say the client stopped: the rest is
 * left for the next round, which starts again from the oldest unsent item. Rejects only if a step does.
 */
import type { CallRejection, CallResult } from './agent-rpc.js';

interface SplitSendSteps<P> {
  /** Before each call: whether the client may start one. */
  canCall(): boolean;
  call(part: P): Promise<CallResult>;
  /** After each call: whether its answer can still be applied (the state database is open). */
  canHandle(): boolean;
  accepted(part: P): void;
  /** The two halves to send in place of a rejected part (`whole`: the batch as first sent), or undefined. */
  halves(part: P, rejection: CallRejection, whole: boolean): readonly [P, P] | undefined;
  /** A rejected part that is not split; false stops the round. */
  rejectedAlone(part: P, rejection: CallRejection): boolean;
}

export async function sendSplitting<P>(batch: P, steps: SplitSendSteps<P>): Promise<boolean> {
  // Pending parts, in order: the front one is always the oldest unsent range.
  const parts: P[] = [batch];
  for (let part = parts.shift(); part !== undefined; part = parts.shift()) {
    if (!steps.canCall()) return false;
    const result = await steps.call(part);
    if (!steps.canHandle()) return false;
    if (result.kind === 'failed') return false;
    if (result.kind === 'ok') {
      steps.accepted(part);
      continue;
    }
    const halves = steps.halves(part, result, part === batch);
    if (halves !== undefined) {
      parts.unshift(...halves);
      continue;
    }
    if (!steps.rejectedAlone(part, result)) return false;
  }
  return true;
}
