/**
 * What a provider adapter registers with sightline: everything the core needs to configure,
 * validate, budget, redact and start it, so that config, `validate`, the daemon, the API budget and
 * the demo loop over the registrations (adapters/index.ts) instead of naming providers.
 *
 * Contract: `configSchema` parses the provider's section `providers.<id>` of the config file and
 * fills its defaults; the core hands `create`, `summary` and the file hooks only a section that
 * this registration's own `configSchema` produced (the config schema is built from the same list),
 * which is why a list of registrations of different sections may be used through the base type.
 * `limits` are the provider's documented API limits (the budget applies its safety fraction);
 * `secretPaths` are paths inside the section whose values must be `${VAR}` references.
 */
import type { z } from 'zod';
import type { BucketLimit } from '../watch/budget.js';

export type { BucketLimit };
import type { ProviderAdapter, ProviderDeps } from './adapter.js';

/** A file a config section names: `field` is its dotted path inside the section. */
export interface ConfigFileRef {
  field: string;
  file: string;
}

export interface ProviderRegistration<Id extends string = string, Schema extends z.ZodType = z.ZodType> {
  /** The section's key under `providers:` in the config file, e.g. `cloudRun`. */
  readonly id: Id;
  /** The section's schema: its fields, checks and defaults. */
  readonly configSchema: Schema;
  /** The defaults `configSchema` fills in, with units in their names (for docs and tests). */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** Documented API rate limits by budget bucket name. */
  readonly limits: Readonly<Record<string, BucketLimit>>;
  /** Paths inside the section (`*` for any key or index) whose values are secrets. */
  readonly secretPaths: ReadonlyArray<ReadonlyArray<string>>;
  /** Repository path of the least-privilege permissions the provider needs. */
  readonly iamDoc: string;
  /** The adapter for a parsed section. */
  create(config: z.output<Schema>, deps: ProviderDeps): ProviderAdapter;
  /** One line for `validate` saying what the section watches (no secrets). */
  summary(config: z.output<Schema>): string;
  /** Files the section names: relative paths are made absolute, then each must be readable. */
  readonly files?: {
    resolve(config: z.output<Schema>, absolute: (path: string) => string): z.output<Schema>;
    list(config: z.output<Schema>): ConfigFileRef[];
  };
}

/** Checks a registration against the contract's types while keeping its literal id and schema. */
export function defineProvider<const Id extends string, Schema extends z.ZodType>(
  registration: ProviderRegistration<Id, Schema>,
): ProviderRegistration<Id, Schema> {
  return registration;
}
