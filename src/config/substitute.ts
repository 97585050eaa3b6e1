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
 * placeholder (private-use characters, no YAML indicators), so `{ key: ${VAR} }` and `[${A}, ${B}]`
 * parse as flow collections; `restoreReferences` puts the references back into the parsed scalars
 * (read as their scalar style would have read them, so quoted strings behave as before), and
 * substitution proper happens on the tree as before. In the raw text a reference never spans a
 * line (an unclosed `${X:-…` is left to YAML, not allowed to swallow the lines after it), and an
 * escape is protected with its braces (`$${X}`), so its `}` cannot close a flow mapping. A file that
 * already holds a placeholder character is parsed unprotected (block style still works).
 */
import { parseDocument, visit } from 'yaml';
import type { Document, Scalar } from 'yaml';
import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';
import { registeredProviders } from './provider-sections.js';

const REF_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** What `protectReferences` sets aside in the raw text: a reference or an escape, each on one line. */
const RAW_REF_RE = /\$\$\{[^}\n]*\}?|\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}\n]*)?\}/g;
const PLACEHOLDER_OPEN = '\uE000';
const PLACEHOLDER_CLOSE = '\uE001';
const PLACEHOLDER_RE = /\uE000([0-9]+)\uE001/g;

export interface ProtectedText {
  text: string;
  /** The original reference text of placeholder i. */
  references: string[];
}

/**
 * Replaces each `${...}` reference (and `$${` escape) in raw YAML text with a placeholder; the
 * same reference text gets the same placeholder, so duplicate keys are still caught by YAML.
 */
export function protectReferences(text: string): ProtectedText {
  const references: string[] = [];
  if (text.includes(PLACEHOLDER_OPEN)) return { text, references };
  const indexOf = new Map<string, number>();
  const out = text.replace(RAW_REF_RE, (m) => {
    let i = indexOf.get(m);
    if (i === undefined) {
      i = references.length;
      references.push(m);
      indexOf.set(m, i);
    }
    return `${PLACEHOLDER_OPEN}${i}${PLACEHOLDER_CLOSE}`;
  });
  return { text: out, references };
}

/**
 * A reference as the scalar holding it would have read it: inside a double-quoted scalar YAML
 * escapes apply (`\"`), inside a single-quoted one `''` is a quote; plain and block scalars are literal.
 */
function asScalarRead(reference: string, type: Scalar['type']): string {
  if (type === 'QUOTE_SINGLE') return reference.replaceAll("''", "'");
  if (type === 'QUOTE_DOUBLE' && reference.includes('\\')) {
    const doc = parseDocument(`"${reference}"`);
    const v: unknown = doc.errors.length === 0 ? doc.toJS() : undefined;
    return typeof v === 'string' ? v : reference;
  }
  return reference;
}

/** Puts the references back into one string (a value, a key, or a YAML error message). */
export function restoreText(
  text: string,
  references: ReadonlyArray<string>,
  type: Scalar['type'] = 'PLAIN',
): string {
  if (references.length === 0) return text;
  return text.replace(PLACEHOLDER_RE, (m, i: string) => {
    const reference = references[Number(i)];
    return reference === undefined ? m : asScalarRead(reference, type);
  });
}

/** Puts the references back into every string scalar (values and keys) of a parsed document, in place. */
export function restoreReferences(doc: Document, references: ReadonlyArray<string>): void {
  if (references.length === 0) return;
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.includes(PLACEHOLDER_OPEN))
        node.value = restoreText(node.value, references, node.type);
    },
  });
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
