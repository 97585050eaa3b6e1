/**
 * A CLI command: its name (possibly two words, `clusters list`), a one-line summary, its help text,
 * and `run(argv)` returning an exit code. `parseCommandArgs` wraps node:util parseArgs so an unknown
 * or malformed flag becomes a UsageError (exit 2) with the command's help.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

export interface Command {
  name: string;
  summary: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function requireString(
  value: string | boolean | undefined | (string | boolean)[],
  flag: string,
): string {
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`${flag} is required`);
  return value;
}
