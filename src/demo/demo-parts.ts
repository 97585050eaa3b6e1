/**
 * Every registered provider's demo part (adapters/<p>/demo.ts, through `demo` in its registration),
 * started together: the emulators with their fleets, the `providers` config sections pointing at
 * them, the variables those sections reference, and one script of changes. `sightline demo`, the
 * end-to-end world and the leader bench use it, so a new provider shows up in all three by
 * registering.
 *
 * The script interleaves the providers' steps: the first step of each provider in registration
 * order, then the second of each, and so on; after the last, it starts again with the next round.
 * `playStep(n)` never throws: a step that fails is reported as `(step skipped: …)`.
 *
 * Failure: if a part cannot start, the parts already started are stopped before the error is thrown.
 */
import { providers } from '../../adapters/index.js';
import type { DemoFeeds, DemoPace, DemoStep } from '../provider/registration.js';

/** A started part, typed by its provider's registration (narrow on `id` to reach its emulator). */
export type DemoPart = Awaited<ReturnType<NonNullable<(typeof providers)[number]['demo']>>>;

export interface DemoParts {
  readonly parts: readonly DemoPart[];
  /** `providers:` of a config file: each part's section under its id. */
  readonly providerSections: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The variables the sections reference, with their values. */
  readonly env: Readonly<Record<string, string>>;
  /** What the parts emulate, in one line: `Cloud Run (…) and ECS (…)`. */
  readonly title: string;
  /** Plays scripted change `n` (0, 1, 2, …) and says what it did in one line. */
  playStep(n: number): string;
  stop(): Promise<void>;
}

export async function startDemoParts(pace: DemoPace, feeds: DemoFeeds = 'polled'): Promise<DemoParts> {
  const parts: DemoPart[] = [];
  const stop = async (): Promise<void> => {
    for (const p of parts.splice(0).reverse()) await p.stop();
  };
  try {
    for (const registration of providers) {
      const part = await registration.demo?.(pace, feeds);
      if (part) parts.push(part);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const script = interleave(parts.map((p) => p.steps));
  return {
    parts: [...parts],
    providerSections: Object.fromEntries(parts.map((p) => [p.id, p.configSection])),
    env: Object.fromEntries(parts.flatMap((p) => Object.entries(p.env))),
    title: parts.map((p) => p.title).join(' and '),
    playStep: (n) => {
      const step = script[n % script.length];
      if (!step) return '';
      try {
        return step(Math.floor(n / script.length));
      } catch (err) {
        return `(step skipped: ${err instanceof Error ? err.message : String(err)})`;
      }
    },
    stop,
  };
}

/** The first step of each list, then the second of each, …; a shorter list drops out when done. */
function interleave(lists: ReadonlyArray<ReadonlyArray<DemoStep>>): DemoStep[] {
  const out: DemoStep[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) {
    for (const l of lists) {
      const step = l[i];
      if (step) out.push(step);
    }
  }
  return out;
}
