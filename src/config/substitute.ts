/**
 * `${VAR}` (or `${VAR:-fallback}`) substitution in string values, done on the parsed YAML tree (never on the raw text, so a
 * value can never inject YAML structure). `$${` escapes a literal `${`. A reference to an unset
 * variable is an error naming the field. Fields listed as secret must be references (or files):
 * an inline literal secret is rejected, so secrets live in the environment or a mounted file,
 * never in the config file itself; a secret field may not carry a `:-fallback` either (that would
 * be an inline secret by another name). (The assume-role external id is not a secret by AWS's own
 * definition: it may be inline, and it is still redacted from logs.)
 *
 * Before parsing, `protectReferences` swaps every reference in the raw text for an opaque
 * placeholder (private-use characters, no YAML indicators), so `{ key: ${VAR} }` parses as a flow
 * mapping; `restoreReferences` puts the references back into the parsed strings, and substitution
 * proper happens on the tree as before.
 */
import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';
import { registeredProviders } from './provider-sections.js';

const REF_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const PLACEHOLDER_OPEN = '\uE000';
const PLACEHOLDER_CLOSE = '\uE001';
const PLACEHOLDER_RE = /\uE000([0-9]+)\uE001/g;

export interface ProtectedText {
  text: string;
  /** The original reference text of placeholder i. */
  references: string[];
}

/** Replaces each `${...}` reference (and `$${`) in raw YAML text with a placeholder. */
export function protectReferences(text: string): ProtectedText {
  const references: string[] = [];
  if (text.includes(PLACEHOLDER_OPEN)) return { text, references };
  const out = text.replace(REF_RE, (m) => {
    references.push(m);
    return `${PLACEHOLDER_OPEN}${references.length - 1}${PLACEHOLDER_CLOSE}`;
  });
  return { text: out, references };
}

/** Puts the references back into every string (values and keys) of a parsed tree. */
export function restoreReferences(node: unknown, references: string[]): unknown {
  if (references.length === 0) return node;
  if (typeof node === 'string')
    return node.replace(PLACEHOLDER_RE, (m, i: string) => references[Number(i)] ?? m);
  if (Array.isArray(node)) return node.map((v) => restoreReferences(v, references));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node))
      out[restoreReferences(k, references) as string] = restoreReferences(v, references);
    return out;
  }
  return node;
}

/** Paths (with `*` for any array index or key) whose values are secrets: each provider's `secretPaths`. */
export const SECRET_PATHS: ReadonlyArray<ReadonlyArray<string>> = registeredProviders.flatMap((p) =>
  p.secretPaths.map((path) => ['providers', p.id, ...path]),
);

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
    let sawFallback = false;
    const out = node.replace(REF_RE, (m, name: string | undefined, fallback: string | undefined) => {
      if (m === '$${') return '${';
      sawRef = true;
      if (fallback !== undefined) sawFallback = true;
      const v = name === undefined ? undefined : (env[name] ?? fallback);
      if (v === undefined) {
        issues.push({ path: formatPath(path), message: `environment variable ${name ?? ''} is not set` });
        return '';
      }
      return v;
    });
    if (secret && sawFallback) {
      issues.push({
        path: formatPath(path),
        message:
          'a secret cannot have a default (${VAR:-…} would put the secret in the config file); write ${VAR} and set VAR',
      });
    } else if (secret && sawRef && !/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(node)) {
      issues.push({
        path: formatPath(path),
        message: 'a secret must be exactly one reference, ${VAR}, with no text around it',
      });
    } else if (secret && !sawRef) {
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
