/**
 * ConfigError: every problem found in a config file, each naming the field path and what is wrong.
 * The CLI prints them and exits with code 2, having started nothing.
 */
export interface ConfigIssue {
  /** Dotted field path, e.g. `providers.ecs.regions[0]`; empty for the document itself. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `invalid config ${file}:\n${issues.map((i) => `  - ${i.path || '(document)'}: ${i.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}
