/**
 * Loads a config file: bounded read (a regular file of at most 1 MiB of UTF-8 text) → YAML (alias
 * expansion capped) → `${VAR}` substitution → zod validation → file checks (token file readable and
 * holding a well-formed token, key files readable, state dir a directory or creatable). Throws
 * ConfigError listing every problem with its field path, one line each; returns a fully defaulted
 * Config otherwise. `validate`, `run` and `once` all load through here, so `validate` refuses what
 * `run` would fail on. Never logs values (secrets may be among them), and never quotes more than a
 * short excerpt of the file in an error.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { dirname, resolve, isAbsolute } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema } from './schema.js';
import type { Config, ProvidersConfig } from './schema.js';
import { configuredProviders } from './provider-sections.js';
import { ConfigError, formatPath } from './errors.js';
import type { ConfigIssue } from './errors.js';
import { protectReferences, restoreReferences, restoreText, substituteEnv } from './substitute.js';
import { CONFIG_MAX_BYTES, FileReadError, readBoundedTextFile } from './read.js';
import { TokenError, readTokenFile } from '../console/token.js';

/** YAML alias expansions allowed in one document (a real config uses a handful, if any). */
export const YAML_MAX_ALIAS_COUNT = 100;
/** YAML errors reported (the rest are counted), and the longest one kept (no long excerpts). */
const YAML_MAX_ERRORS = 5;
const YAML_ERROR_MAX_CHARS = 200;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Check that referenced files exist and are readable (default true). */
  checkFiles?: boolean;
}

export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readBoundedTextFile(file, CONFIG_MAX_BYTES);
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    const message =
      err.code !== undefined ? `cannot read config file (${err.code})` : `config file ${err.message}`;
    throw new ConfigError(file, [{ path: '', message }]);
  }
  return parseConfig(text, file, options);
}

function yamlIssue(message: string): ConfigIssue {
  const first = message.split('\n')[0] ?? message;
  const short = first.length > YAML_ERROR_MAX_CHARS ? `${first.slice(0, YAML_ERROR_MAX_CHARS - 1)}…` : first;
  return { path: '', message: `YAML: ${short}` };
}

export function parseConfig(text: string, file: string, options: LoadOptions = {}): Config {
  // `${VAR}` references are set aside before parsing, so that one inside a flow collection
  // (`{ key: ${VAR} }`) is not read as YAML structure; they are put back in the parsed values.
  const protectedText = protectReferences(text);
  const doc = parseDocument(protectedText.text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // An error quotes the file as written (`${VAR}`), not its placeholders; never a variable's value.
    const issues = doc.errors
      .slice(0, YAML_MAX_ERRORS)
      .map((e) => yamlIssue(restoreText(e.message, protectedText.references)));
    if (doc.errors.length > YAML_MAX_ERRORS)
      issues.push({ path: '', message: `YAML: ${doc.errors.length - YAML_MAX_ERRORS} more errors` });
    throw new ConfigError(file, issues);
  }
  restoreReferences(doc, protectedText.references);
  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT });
  } catch (err) {
    const message =
      err instanceof ReferenceError && /alias/i.test(err.message)
        ? `more than ${YAML_MAX_ALIAS_COUNT} alias expansions (an alias bomb?); write the values out`
        : err instanceof Error
          ? err.message
          : String(err);
    throw new ConfigError(file, [yamlIssue(message)]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(file, [{ path: '', message: 'the config must be a YAML mapping' }]);
  }
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(parsed, options.env ?? process.env, issues);
  if (issues.length > 0) throw new ConfigError(file, issues);

  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    throw new ConfigError(
      file,
      uniqueIssues(result.error.issues.map((i) => ({ path: formatPath(i.path), message: describeIssue(i) }))),
    );
  }
  const config = resolvePaths(result.data, dirname(resolve(file)));
  if (options.checkFiles ?? true) {
    const fileIssues = checkFiles(config);
    if (fileIssues.length > 0) throw new ConfigError(file, fileIssues);
  }
  return config;
}

/** One line per problem: zod reports e.g. both "not an integer" and "too large" with the same message. */
function uniqueIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function describeIssue(i: { code: string; message: string; keys?: string[] }): string {
  if (i.code === 'unrecognized_keys' && i.keys) {
    // Keys come from the file: show a few, each cut short, never the whole of a hostile file.
    const shown = i.keys.slice(0, 10).map((k) => (k.length > 60 ? `${k.slice(0, 59)}…` : k));
    const more = i.keys.length > shown.length ? ` and ${i.keys.length - shown.length} more` : '';
    return `unknown key${i.keys.length > 1 ? 's' : ''}: ${shown.join(', ')}${more}`;
  }
  return i.message;
}

/** Each provider's section with the relative paths of the files it names made absolute. */
function resolveProviderFiles(sections: ProvidersConfig, abs: (p: string) => string): ProvidersConfig {
  const out = { ...sections };
  const byId: Record<string, unknown> = out;
  for (const { registration, section } of configuredProviders(sections))
    if (registration.files) byId[registration.id] = registration.files.resolve(section, abs);
  return out;
}

/** Relative file paths in the config are relative to the config file's folder. */
function resolvePaths(config: Config, base: string): Config {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const out: Config = {
    ...config,
    stateDir: abs(config.stateDir),
    console: { ...config.console, tokenFile: abs(config.console.tokenFile) },
  };
  if (config.console.tls.mode === 'tls' && config.console.tls.caFile !== undefined) {
    out.console.tls = { ...config.console.tls, caFile: abs(config.console.tls.caFile) };
  }
  if (config.leaderElection.kubeconfig !== undefined) {
    out.leaderElection = { ...config.leaderElection, kubeconfig: abs(config.leaderElection.kubeconfig) };
  }
  out.providers = resolveProviderFiles(config.providers, abs);
  return out;
}

function checkToken(path: string, issues: ConfigIssue[]): void {
  try {
    readTokenFile(path);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    issues.push({ path: 'console.tokenFile', message: err.message });
  }
}

/** The state dir is a directory, or can be created: its nearest existing ancestor is a writable directory. */
function checkStateDir(stateDir: string, issues: ConfigIssue[]): void {
  let dir = stateDir;
  for (;;) {
    let st;
    try {
      st = statSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(dir) !== dir) {
        dir = dirname(dir);
        continue;
      }
      issues.push({ path: 'stateDir', message: `cannot use ${stateDir} (${code ?? 'error'})` });
      return;
    }
    if (!st.isDirectory()) {
      issues.push({
        path: 'stateDir',
        message:
          dir === stateDir
            ? `${stateDir} exists and is not a directory`
            : `${stateDir} cannot be created: ${dir} is not a directory`,
      });
      return;
    }
    break;
  }
  try {
    accessSync(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch {
    issues.push({ path: 'stateDir', message: `${stateDir} is not writable` });
  }
}

function checkReadable(path: string, field: string, issues: ConfigIssue[]): void {
  try {
    accessSync(path, fsConstants.R_OK);
    if (statSync(path).isDirectory())
      issues.push({ path: field, message: `${path} is a directory, expected a file` });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unknown error';
    issues.push({ path: field, message: `cannot read ${path} (${code})` });
  }
}

function checkFiles(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  checkToken(config.console.tokenFile, issues);
  if (config.console.tls.mode === 'tls' && config.console.tls.caFile !== undefined) {
    checkReadable(config.console.tls.caFile, 'console.tls.caFile', issues);
  }
  const le = config.leaderElection;
  if (le.enabled && le.kubeconfig !== undefined)
    checkReadable(le.kubeconfig, 'leaderElection.kubeconfig', issues);
  for (const { registration, section } of configuredProviders(config.providers))
    for (const ref of registration.files?.list(section) ?? [])
      checkReadable(ref.file, `providers.${registration.id}.${ref.field}`, issues);
  checkStateDir(config.stateDir, issues);
  return issues;
}
