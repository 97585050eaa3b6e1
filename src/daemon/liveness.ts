/**
 * The state database's part of /livez: it fails only when writes have failed for
 * `unwritableLivenessMs` in a row (default 5 min), so a full disk that frees up again, or a brief
 * I/O error, does not restart the pod; a database that stays read-only does (a remount may fix it).
 * When nothing wrote for `probeAfterMs`, the check writes one meta row itself (`probeWrite`), so an
 * idle daemon still notices; while a failure lasts, it probes only when no other write retried for
 * `probeAfterMs` (the retries of real writes decide, so health does not flap on a probe that fits).
 */
import type { CheckResult } from '../runtime/health.js';
import type { StateDatabase } from '../state/database.js';

export const STATE_PROBE_AFTER_MS = 30_000;
export const STATE_UNWRITABLE_LIVENESS_MS = 5 * 60_000;

export function stateLivenessCheck(
  db: StateDatabase,
  nowMs: () => number,
  probeAfterMs: number = STATE_PROBE_AFTER_MS,
  unwritableLivenessMs: number = STATE_UNWRITABLE_LIVENESS_MS,
): () => CheckResult {
  return () => {
    if (db.closed) return { ok: false, reason: 'state database closed' };
    const now = nowMs();
    const health = db.writeHealth;
    const failure = health.failure;
    if (failure === undefined ? now - health.lastOkMs >= probeAfterMs : now - failure.lastMs >= probeAfterMs)
      db.probeWrite();
    const f = health.failure;
    if (f === undefined || now - f.sinceMs < unwritableLivenessMs) return { ok: true };
    return { ok: false, reason: health.describe() ?? 'state database not writable' };
  };
}
