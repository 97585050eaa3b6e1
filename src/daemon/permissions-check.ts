/**
 * The `permissions` check of /healthz: every source whose list the provider refuses for a missing
 * permission (the watch engine's `denied`), named with that permission, e.g.
 * `{ ok: false, reason: "ecs/123456789012/us-east-1/nodes lacks ecs:ListContainerInstances",
 *    detail: { denied: [{ source, permission }] } }`; `{ ok: true, detail: { denied: [] } }` otherwise.
 *
 * Why `ok: false` (so /healthz answers 503) rather than ok-with-a-reason: /healthz is where platform
 * engineers look for what needs a human, and a missing IAM permission is exactly that (the console
 * silently lacks that kind of object until someone grants it; nothing heals by itself), as a refused
 * console token is. It costs nothing else: /readyz counts a denied source as ready (degraded: the
 * other sources are watched and pushed normally), and /livez never looks at it (a restart grants no
 * permission). No probe uses /healthz (config/deploy). Names only: no message text, so no ARN,
 * account detail or secret from the provider's error reaches the check.
 */
import type { CheckResult } from '../runtime/health.js';

export interface DeniedSource {
  source: string;
  permission: string;
}

export function permissionsCheck(denied: readonly DeniedSource[]): CheckResult {
  const sorted = [...denied].sort((a, b) => a.source.localeCompare(b.source));
  if (sorted.length === 0) return { ok: true, detail: { denied: [] } };
  return {
    ok: false,
    reason: sorted.map((d) => `${d.source} lacks ${d.permission}`).join('; '),
    detail: { denied: sorted },
  };
}
