/**
 * The registered providers (adapters/index.ts) paired with their sections of a parsed config, in
 * registration order, for code that treats every provider alike (file checks, `validate`, the
 * daemon's wiring). A section given to a registration is always one its own `configSchema`
 * produced, since the config schema is built from the same list.
 */
import { providers } from '../../adapters/index.js';
import type { ProviderRegistration } from '../provider/registration.js';
import type { ProvidersConfig } from './schema.js';

/** Every registered provider through the base contract. */
export const registeredProviders: readonly ProviderRegistration[] = providers;

export interface ConfiguredProvider {
  registration: ProviderRegistration;
  /** The provider's parsed section `providers.<id>`. */
  section: unknown;
}

/** The providers a config configures (a section present), in registration order. */
export function configuredProviders(sections: ProvidersConfig): ConfiguredProvider[] {
  const byId: Readonly<Record<string, unknown>> = sections;
  const out: ConfiguredProvider[] = [];
  for (const registration of registeredProviders) {
    const section = byId[registration.id];
    if (section !== undefined) out.push({ registration, section });
  }
  return out;
}
