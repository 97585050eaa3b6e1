/**
 * The providers the help texts name, taken from the registrations (adapters/index.ts) so a new
 * provider is named by registering: `cloudRun, ecs and lambda`, the `providers.<id>` keys of the
 * config file.
 */
import { providers } from '../../adapters/index.js';

export function registeredProviders(): string {
  const ids = providers.map((p) => p.id);
  const last = ids.pop();
  return ids.length === 0 ? (last ?? '') : `${ids.join(', ')} and ${last ?? ''}`;
}
