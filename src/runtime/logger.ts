/**
 * Structured logs (pino, JSON; pretty when stdout is a TTY). Every secret-bearing field is redacted
 * by path wherever it appears, and `redactSecrets` scrubs secret-looking substrings from free text
 * (error messages from SDKs sometimes quote request headers). Secrets never reach a log line.
 *
 * The field names are the generic ones below plus those the caller names (`secretFields`): the
 * composition root passes every provider registration's secret field names, so this module never
 * names a provider's fields. A logger made without them still redacts the generic names (and a
 * `credentials` object whole).
 */
import { pino } from 'pino';
import type { Logger, DestinationStream } from 'pino';

export type { Logger };

/** Field names whose values are secrets whatever the provider, at any depth (matched case-sensitively). */
const GENERIC_SECRET_FIELDS = [
  'token',
  'bearerToken',
  'authorization',
  'Authorization',
  'password',
  'secret',
  'privateKey',
  'private_key',
  'credentials',
  'apiKey',
  'clientSecret',
];

/**
 * Redaction paths for the generic secret field names and `secretFields`, at depths 0 to 3. Throws on
 * a name that is not a plain identifier (pino could not match it, and skipping it would leak it).
 */
export function redactPaths(secretFields: readonly string[] = []): string[] {
  const paths: string[] = [];
  for (const f of new Set([...GENERIC_SECRET_FIELDS, ...secretFields])) {
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(f))
      throw new Error(`secret field name ${JSON.stringify(f)} is not an identifier`);
    paths.push(f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`);
  }
  paths.push('req.headers.authorization', 'headers.authorization', 'metadata.authorization');
  return paths;
}

export interface LoggerOptions {
  level?: string;
  /** Pretty output; defaults to stdout being a TTY. */
  pretty?: boolean;
  /** Where to write (tests capture logs through this). */
  destination?: DestinationStream;
  /** Field names redacted besides the generic ones (the providers' secret fields). */
  secretFields?: readonly string[];
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    base: { name: 'sightline' },
    redact: { paths: redactPaths(options.secretFields), censor: '[REDACTED]' },
    serializers: { err: errorSerializer },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(base, options.destination);
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } },
    });
  }
  return pino(base);
}

/**
 * The safety net for free text. Errors are built without secrets where they are made (the token
 * file reader, the gRPC call); these patterns catch what a library might still quote. A bearer value
 * runs to the next space or quote (so a token with a pasted invisible character is hidden whole),
 * and the English words that follow "bearer" in messages ("missing or invalid bearer token") are
 * left alone: they are the console's own words, not a credential.
 */
const SECRET_TEXT_PATTERNS: RegExp[] = [
  /(Bearer\s+)(?!(?:token|tokens|scheme|auth|authentication|credentials?)\b)[^\s"'`,;)}\]]+/gi,
  /((?:aws_)?secret_?access_?key["'\s:=]+)[A-Za-z0-9/+=]{16,}/gi,
  /((?:x-amz-security-token|sessiontoken)["'\s:=]+)[A-Za-z0-9/+=]{16,}/gi,
  /(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)/g,
  /((?:token|password|secret)["'\s]*[:=]\s*["']?)[^\s"',}]{6,}/gi,
];

/** Removes secret-looking substrings from free text. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const re of SECRET_TEXT_PATTERNS) {
    out = out.replace(re, (_m, p1: string, p2?: string) =>
      typeof p2 === 'string' && p2.startsWith('-----END') ? `${p1}[REDACTED]${p2}` : `${p1}[REDACTED]`,
    );
  }
  return out;
}

function errorSerializer(err: unknown): unknown {
  if (err instanceof Error) {
    const out: Record<string, unknown> = {
      type: err.name,
      message: redactSecrets(err.message),
    };
    const code = (err as { code?: unknown }).code;
    if (code !== undefined) out['code'] = code;
    if (err.stack) out['stack'] = redactSecrets(err.stack);
    return out;
  }
  return typeof err === 'string' ? redactSecrets(err) : err;
}
