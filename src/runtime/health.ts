/**
 * Liveness, health and readiness. Components report in by name:
 * - liveness: `addLivenessCheck(name, fn)`; /livez is 200 unless one fails. Only what a restart
 *   could fix belongs here: the process cannot make progress (event loop stalled, state database
 *   unwritable for long). Console or provider trouble never fails liveness (a restart fixes neither
 *   and resets every backoff); it shows in /healthz, metrics and alerts.
 * - readiness: `expectReady(name)` at start, `markReady(name)` once its first list completed (or
 *   the provider refused it for a missing permission: ready, degraded, shown by /healthz);
 *   /readyz is 200 only when every expected component is ready.
 * - health checks: `addCheck(name, fn)`; /healthz is 200 unless a check reports `ok: false`
 *   (e.g. the console rejecting our token, the outbox past its hard limit, a watch that went silent).
 * Checks never throw into the HTTP handler: an exception counts as unhealthy with its message.
 */
export interface CheckResult {
  ok: boolean;
  reason?: string;
  /** What the check saw, healthy or not (no secrets, no payloads). */
  detail?: unknown;
}

export class Health {
  private readonly expected = new Set<string>();
  private readonly ready = new Set<string>();
  private readonly checks = new Map<string, () => CheckResult>();
  private readonly livenessChecks = new Map<string, () => CheckResult>();

  expectReady(name: string): void {
    this.expected.add(name);
  }

  markReady(name: string): void {
    this.expected.add(name);
    this.ready.add(name);
  }

  addCheck(name: string, check: () => CheckResult): void {
    this.checks.set(name, check);
  }

  addLivenessCheck(name: string, check: () => CheckResult): void {
    this.livenessChecks.set(name, check);
  }

  /** /livez: the liveness checks only. */
  livez(): { ok: boolean; checks: Record<string, CheckResult> } {
    return run(this.livenessChecks);
  }

  readiness(): { ready: boolean; pending: string[] } {
    const pending = [...this.expected].filter((n) => !this.ready.has(n)).sort();
    return { ready: pending.length === 0 && this.expected.size > 0, pending };
  }

  /** /healthz: every health check (console, outbox, state database, watches). */
  liveness(): { ok: boolean; checks: Record<string, CheckResult> } {
    return run(this.checks);
  }
}

function run(checks: ReadonlyMap<string, () => CheckResult>): {
  ok: boolean;
  checks: Record<string, CheckResult>;
} {
  const out: Record<string, CheckResult> = {};
  let ok = true;
  for (const [name, check] of checks) {
    let r: CheckResult;
    try {
      r = check();
    } catch (err) {
      r = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    out[name] = r;
    if (!r.ok) ok = false;
  }
  return { ok, checks: out };
}
