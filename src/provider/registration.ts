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
 * `secretPaths` are paths inside the section whose values must be `${VAR}` references; their leaf
 * names, with `redactedFields`, are the provider's field names the composition root hands the logger
 * to redact (`secretFieldNames`), so `src/runtime` never names a provider's fields.
 *
 * `demo`, when present, starts the provider's emulator with a small fleet for `sightline demo`, the
 * end-to-end tests and the leader bench: a registration loads it with a dynamic `import()` of its
 * `demo.ts`, so a running watcher never loads an emulator. Failure: `demo` rejects if the emulator
 * cannot start (nothing is left running); a step that throws is reported by the caller as skipped.
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

/** How fast a demo part runs: `demo` at a pace a person can follow, `test` faster (end-to-end tests). */
export type DemoPace = 'demo' | 'test';

/**
 * Which change feeds a demo part watches through: `pushed` (the provider's queue or subscription,
 * emulated too; what `sightline demo` shows) or `polled` (audit tails, CloudTrail and polls; the
 * end-to-end tests' default, whose fault scenarios are about them). A provider's own environment
 * variable, when set, overrides it.
 */
export type DemoFeeds = 'pushed' | 'polled';

/** One scripted change in an emulator; `round` counts how many times the script has been played. */
export type DemoStep = (round: number) => string;

/** A provider's running demo: its emulator with a seeded fleet, and how to watch and change it. */
export interface DemoProvider<Id extends string = string, Emulator = unknown> {
  readonly id: Id;
  /** What it emulates, for the demo's banner, e.g. `ECS (us-east-1: payments, web)`. */
  readonly title: string;
  /** The `providers.<id>` config section pointing at the emulator; secrets as `${VAR}` references. */
  readonly configSection: Readonly<Record<string, unknown>>;
  /** The values of the variables the section references (the emulator's own keys). */
  readonly env: Readonly<Record<string, string>>;
  /** The scripted changes, in order; each makes one change and says it in one line. */
  readonly steps: ReadonlyArray<DemoStep>;
  /** The emulator itself, for tests that inject a specific fault. */
  readonly emulator: Emulator;
  stop(): Promise<void>;
}

export interface ProviderRegistration<
  Id extends string = string,
  Schema extends z.ZodType = z.ZodType,
  Demo extends DemoProvider = DemoProvider,
> {
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
  /** Other field names kept out of logs though they may be written inline (e.g. an external id). */
  readonly redactedFields?: ReadonlyArray<string>;
  /** Repository path of the least-privilege permissions the provider needs. */
  readonly iamDoc: string;
  /**
   * The adapter for a parsed section. A registration loads its adapter (and the cloud's SDK) here, by
   * dynamic import, so the commands that watch nothing (`validate`, `records`, `--help`) start without it.
   */
  create(config: z.output<Schema>, deps: ProviderDeps): Promise<ProviderAdapter>;
  /** One line for `validate` saying what the section watches (no secrets). */
  summary(config: z.output<Schema>): string;
  /** Files the section names: relative paths are made absolute, then each must be readable. */
  readonly files?: {
    resolve(config: z.output<Schema>, absolute: (path: string) => string): z.output<Schema>;
    list(config: z.output<Schema>): ConfigFileRef[];
  };
  /** Starts the provider's emulator with the demo fleet (loaded on demand; never in `run`). */
  readonly demo?: (pace: DemoPace, feeds: DemoFeeds) => Promise<Demo>;
}

/** Checks a registration against the contract's types while keeping its literal id and schema. */
export function defineProvider<
  const Id extends string,
  Schema extends z.ZodType,
  Demo extends DemoProvider = DemoProvider,
>(registration: ProviderRegistration<Id, Schema, Demo>): ProviderRegistration<Id, Schema, Demo> {
  return registration;
}

/** The field names the registrations keep out of logs: every `secretPaths` leaf, and `redactedFields`. */
export function secretFieldNames(registrations: ReadonlyArray<ProviderRegistration>): string[] {
  const names = new Set<string>();
  for (const r of registrations) {
    for (const path of r.secretPaths) {
      const leaf = path.at(-1);
      if (leaf !== undefined && leaf !== '*') names.add(leaf);
    }
    for (const f of r.redactedFields ?? []) names.add(f);
  }
  return [...names];
}
