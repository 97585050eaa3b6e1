/**
 * `${VAR}` (or `${VAR:-fallback}`) substitution in string values, done on the parsed YAML tree (never on the raw text, so a
 * value can never inject YAML structure). `$${` escapes a literal `${`. A reference to an unset
 * variable is an error naming the field. Fields listed as secret must be references (or files):
 * an inline literal secret is rejected, so secrets live in the environment or a mounted file,
 * never in the config file itself. (The assume-role external id is not a secret by AWS's own
 * definition: it may be inline, and it is still redacted from logs.)
 */
import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';

const REF_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Paths (with `*` for any array index or key) whose values are secrets. */
export const SECRET_PATHS: string[][] = [
  ['providers', 'ecs', 'credentials', 'accessKeyId'],
  ['providers', 'ecs', 'credentials', 'secretAccessKey'],
  ['providers', 'ecs', 'credentials', 'sessionToken'],
];

function isSecretPath(path: ReadonlyArray<PropertyKey>): boolean {
  return SECRET_PATHS.some(
    (sp) => sp.length === path.length && sp.every((seg, i) => seg === '*' || seg === path[i]),
  );
}

export function substituteEnv(
  node: unknown,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  path: PropertyKey[] = [],
): unknown {
  if (typeof node === 'string') {
    const secret = isSecretPath(path);
    let sawRef = false;
    const out = node.replace(REF_RE, (m, name: string | undefined, fallback: string | undefined) => {
      if (m === '$${') return '${';
      sawRef = true;
      const v = name === undefined ? undefined : (env[name] ?? fallback);
      if (v === undefined) {
        issues.push({ path: formatPath(path), message: `environment variable ${name ?? ''} is not set` });
        return '';
      }
      return v;
    });
    if (secret && !sawRef) {
      issues.push({
        path: formatPath(path),
        message: 'secrets must be given by reference (${ENV_VAR}), not inline in the config file',
      });
    }
    return out;
  }
  if (Array.isArray(node)) return node.map((v, i) => substituteEnv(v, env, issues, [...path, i]));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = substituteEnv(v, env, issues, [...path, k]);
    return out;
  }
  return node;
}
