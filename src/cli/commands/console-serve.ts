/** `sightline console serve`: the reference console (gRPC + SQLite) for development, tests and demos. */
import { ConsoleUsageError, consoleServeCommand } from '../../console/commands.js';
import type { ConsoleServeOptions } from '../../console/commands.js';
import type { Command } from '../command.js';
import { UsageError, parseCommandArgs, requireString } from '../command.js';
import { parseWebListen } from '../../console/server/web/web-server.js';
import { EXIT_OK } from '../exit-codes.js';

export const consoleServeCli: Command = {
  name: 'console serve',
  summary: 'run the reference console (gRPC) that the watcher pushes to',
  help: `Usage: sightline console serve --listen HOST:PORT --db FILE --token-file FILE [--tls-cert F --tls-key F]
       [--web ADDR]

Runs a console implementing sightline.agent.v1 (registrations, sightings, heartbeats,
deregistration) and the query service behind 'clusters list' / 'records list', persisting to the
SQLite FILE. Requests must carry the bearer token from --token-file (required unless env
SIGHTLINE_CONSOLE_TOKEN holds the token).
--web ADDR also serves a read-only web view (Clusters, a cluster's namespaces and workloads,
Images with search; live) over HTTP on ADDR (HOST:PORT, or PORT for 127.0.0.1; off by default),
behind the same token: a login form (HttpOnly cookie) or an Authorization: Bearer header.
Stops on SIGINT/SIGTERM. Exit codes: 0 stopped, 1 cannot listen, 2 bad usage (no or malformed token).`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      listen: { type: 'string' },
      db: { type: 'string' },
      'token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      web: { type: 'string' },
    });
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const opts: ConsoleServeOptions = {
      listen: requireString(values.listen, '--listen'),
      db: requireString(values.db, '--db'),
    };
    if (values['token-file'] !== undefined) opts.tokenFile = values['token-file'];
    const envToken = process.env['SIGHTLINE_CONSOLE_TOKEN'];
    if (opts.tokenFile === undefined && envToken !== undefined) opts.token = envToken;
    if (values['tls-cert'] !== undefined) opts.tlsCertFile = values['tls-cert'];
    if (values['tls-key'] !== undefined) opts.tlsKeyFile = values['tls-key'];
    if (values.web !== undefined) {
      try {
        parseWebListen(values.web);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      opts.web = values.web;
    }
    try {
      await consoleServeCommand(opts);
    } catch (err) {
      if (err instanceof ConsoleUsageError) throw new UsageError(err.message);
      throw err;
    }
    return EXIT_OK;
  },
};
