/**
 * The bodies of the console commands `clusters list`, `records list`, `nodes list` and `console serve` (src/cli
 * parses their flags). They print to the given streams and return an exit code: 0 ok, 1 the
 * console could not be reached or replied badly, 2 bad usage (no, unreadable or malformed token: a
 * ConsoleUsageError from `console serve`). Tokens are never printed.
 */
import { readFileSync } from 'node:fs';
import { TokenError, readTokenFile, tokenProblem } from './token.js';
import * as grpc from '@grpc/grpc-js';
import { redactSecrets } from '../runtime/logger.js';
import {
  fetchClusters,
  fetchNodes,
  fetchRecords,
  clustersJson,
  nodesJson,
  nodesOfCluster,
  recordsJson,
  renderClustersTable,
  renderNodesTable,
  renderRecordsTable,
} from './views.js';
import type { FetchOptions } from './views.js';
import { outputWidth } from './table.js';
import { InvalidReplyError } from './wire-types.js';
import { startReferenceConsole } from './server/reference-console.js';
import type { ReferenceConsole } from './server/reference-console.js';

export interface ListCommandOptions {
  /** host:port of the console. */
  console: string;
  token?: string;
  tokenFile?: string;
  plaintext: boolean;
  caFile?: string;
  serverName?: string;
  /** `wide`: every column, full digests and names, not fitted to the terminal. */
  output: 'table' | 'wide' | 'json';
  /** records list: also superseded and deleted images (marked). */
  all?: boolean;
  /** nodes list: only this cluster's nodes (its display name or id). */
  cluster?: string;
  /** Display columns to fit tables to (default: the terminal's, else $COLUMNS, else 120). */
  maxWidth?: number;
  /** Where to print (default process.stdout / process.stderr). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Clock for LAST SEEN ages (default Date.now). */
  nowMs?: () => number;
}

export interface ConsoleServeOptions {
  /** host:port to listen on. */
  listen: string;
  /** SQLite file of the console. */
  db: string;
  token?: string;
  tokenFile?: string;
  /** PEM files; both or neither. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Serve the read-only web view on this address (`HOST:PORT` or `PORT`, loopback by default). */
  web?: string;
  stderr?: NodeJS.WritableStream;
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  until?: Promise<void>;
  /** Called once listening (tests). */
  onListening?: (c: ReferenceConsole) => void;
}

/** Bad usage of a console command (exit 2): a missing or malformed token, inconsistent TLS flags. */
export class ConsoleUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsoleUsageError';
  }
}

/**
 * The token from the flag/env value or the file, checked like the daemon's (one printable-ASCII
 * line). Throws ConsoleUsageError (exit 2) naming the file or the variable, never the token; undefined
 * when neither is given.
 */
function readToken(token: string | undefined, tokenFile: string | undefined): string | undefined {
  if (token !== undefined && token !== '') {
    const problem = tokenProblem(token.trim());
    if (problem !== undefined)
      throw new ConsoleUsageError(`the console token (SIGHTLINE_CONSOLE_TOKEN) ${problem}`);
    return token.trim();
  }
  if (tokenFile === undefined) return undefined;
  try {
    return readTokenFile(tokenFile);
  } catch (err) {
    if (err instanceof TokenError) throw new ConsoleUsageError(err.message);
    throw err;
  }
}

const NO_TOKEN = 'no console token: give --token-file FILE or set SIGHTLINE_CONSOLE_TOKEN';

function describeError(err: unknown): string {
  if (err instanceof InvalidReplyError) return err.message;
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'number') {
    const e = err as grpc.ServiceError;
    return `console ${grpc.status[e.code] ?? e.code}: ${redactSecrets(e.details ?? e.message)}`;
  }
  return err instanceof Error ? redactSecrets(err.message) : String(err);
}

async function listCommand(
  opts: ListCommandOptions,
  run: (fetchOpts: FetchOptions, now: number, maxWidth: number) => Promise<string>,
): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  let token: string | undefined;
  try {
    token = readToken(opts.token, opts.tokenFile);
    if (token === undefined) throw new ConsoleUsageError(NO_TOKEN);
  } catch (err) {
    if (!(err instanceof ConsoleUsageError)) throw err;
    stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  const fetchOpts: FetchOptions = {
    plaintext: opts.plaintext,
    token,
    ...(opts.caFile !== undefined ? { caFile: opts.caFile } : {}),
    ...(opts.serverName !== undefined ? { serverName: opts.serverName } : {}),
  };
  try {
    const maxWidth = opts.maxWidth ?? outputWidth(stdout);
    stdout.write(await run(fetchOpts, (opts.nowMs ?? Date.now)(), maxWidth));
    return 0;
  } catch (err) {
    stderr.write(`error: ${describeError(err)}\n`);
    return 1;
  }
}

export function clustersListCommand(opts: ListCommandOptions): Promise<number> {
  return listCommand(opts, async (f, now, maxWidth) => {
    const clusters = await fetchClusters(opts.console, f);
    return opts.output === 'json'
      ? JSON.stringify(clustersJson(clusters), null, 2) + '\n'
      : renderClustersTable(clusters, now, { maxWidth, wide: opts.output === 'wide' });
  });
}

export function recordsListCommand(opts: ListCommandOptions): Promise<number> {
  return listCommand(opts, async (f, now, maxWidth) => {
    const records = await fetchRecords(opts.console, f);
    return opts.output === 'json'
      ? JSON.stringify(recordsJson(records), null, 2) + '\n'
      : renderRecordsTable(records, now, {
          maxWidth,
          wide: opts.output === 'wide',
          all: opts.all === true,
        });
  });
}

export function nodesListCommand(opts: ListCommandOptions): Promise<number> {
  return listCommand(opts, async (f, now, maxWidth) => {
    const all = await fetchNodes(opts.console, f);
    const nodes = opts.cluster === undefined ? all : nodesOfCluster(all, opts.cluster);
    return opts.output === 'json'
      ? JSON.stringify(nodesJson(nodes), null, 2) + '\n'
      : renderNodesTable(nodes, now, { maxWidth, wide: opts.output === 'wide' });
  });
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** Runs the reference console until SIGINT/SIGTERM (or `until`). Rejects on bad options. */
export async function consoleServeCommand(opts: ConsoleServeOptions): Promise<void> {
  const stderr = opts.stderr ?? process.stderr;
  const token = readToken(opts.token, opts.tokenFile);
  if (token === undefined) throw new ConsoleUsageError(NO_TOKEN);
  if ((opts.tlsCertFile === undefined) !== (opts.tlsKeyFile === undefined)) {
    throw new ConsoleUsageError('console serve needs both a TLS certificate and a key file, or neither');
  }
  const tls =
    opts.tlsCertFile !== undefined && opts.tlsKeyFile !== undefined
      ? { cert: readFileSync(opts.tlsCertFile), key: readFileSync(opts.tlsKeyFile) }
      : undefined;
  const until = opts.until ?? signalled();
  const server = await startReferenceConsole({
    listen: opts.listen,
    dbFile: opts.db,
    token,
    ...(tls ? { tls } : {}),
    ...(opts.web !== undefined ? { web: { listen: opts.web } } : {}),
  });
  stderr.write(
    `reference console listening on ${server.address} (${tls ? 'TLS' : 'plaintext'}), data in ${opts.db}\n`,
  );
  if (server.webUrl !== undefined)
    stderr.write(`web view (read-only; sign in with the console token) at ${server.webUrl}\n`);
  opts.onListening?.(server);
  await until;
  await server.stop();
  stderr.write('reference console stopped\n');
}
