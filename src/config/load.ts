/**
 * Loads a config file: YAML → `${VAR}` substitution → zod validation → file checks (token file and
 * key files readable, state dir creatable). Throws ConfigError listing every problem with its field
 * path; returns a fully defaulted Config otherwise. Never logs values (secrets may be among them).
 */
import { readFileSync, accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { dirname, resolve, isAbsolute } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema } from './schema.js';
import type { Config } from './schema.js';
import { ConfigError, formatPath } from './errors.js';
import type { ConfigIssue } from './errors.js';
import { substituteEnv } from './substitute.js';

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Check that referenced files exist and are readable (default true). */
  checkFiles?: boolean;
}

export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unknown error';
    throw new ConfigError(file, [{ path: '', message: `cannot read config file (${code})` }]);
  }
  return parseConfig(text, file, options);
}

export function parseConfig(text: string, file: string, options: LoadOptions = {}): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0] ?? e.message}` })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, [{ path: '', message: 'the config must be a YAML mapping' }]);
  }
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw, options.env ?? process.env, issues);
  if (issues.length > 0) throw new ConfigError(file, issues);

  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((i) => ({ path: formatPath(i.path), message: describeIssue(i) })),
    );
  }
  const config = resolvePaths(result.data, dirname(resolve(file)));
  if (options.checkFiles ?? true) {
    const fileIssues = checkFiles(config);
    if (fileIssues.length > 0) throw new ConfigError(file, fileIssues);
  }
  return config;
}

function describeIssue(i: { code: string; message: string; keys?: string[] }): string {
  if (i.code === 'unrecognized_keys' && i.keys) {
    return `unknown key${i.keys.length > 1 ? 's' : ''}: ${i.keys.join(', ')}`;
  }
  return i.message;
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
  const cr = config.providers.cloudRun;
  if (cr && cr.credentials.source === 'keyFile') {
    out.providers = {
      ...config.providers,
      cloudRun: { ...cr, credentials: { source: 'keyFile', keyFile: abs(cr.credentials.keyFile) } },
    };
  }
  return out;
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
  checkReadable(config.console.tokenFile, 'console.tokenFile', issues);
  if (config.console.tls.mode === 'tls' && config.console.tls.caFile !== undefined) {
    checkReadable(config.console.tls.caFile, 'console.tls.caFile', issues);
  }
  const le = config.leaderElection;
  if (le.enabled && le.kubeconfig !== undefined)
    checkReadable(le.kubeconfig, 'leaderElection.kubeconfig', issues);
  const cr = config.providers.cloudRun;
  if (cr && cr.credentials.source === 'keyFile')
    checkReadable(cr.credentials.keyFile, 'providers.cloudRun.credentials.keyFile', issues);
  // The state dir may not exist yet; its nearest existing ancestor must be writable.
  let dir = config.stateDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, fsConstants.W_OK);
  } catch {
    issues.push({ path: 'stateDir', message: `${config.stateDir} is not writable` });
  }
  return issues;
}
