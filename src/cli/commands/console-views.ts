/**
 * `sightline clusters list`, `records list` and `nodes list`: the console's views, like `chainctl
 * clusters list` and `kubectl get nodes`. Bad flags are a UsageError (exit 2) before any call.
 */
import { clustersListCommand, nodesListCommand, recordsListCommand } from '../../console/commands.js';
import type { ListCommandOptions } from '../../console/commands.js';
import type { Command } from '../command.js';
import { UsageError, parseCommandArgs, requireString } from '../command.js';
import { EXIT_OK } from '../exit-codes.js';

const flags = {
  console: { type: 'string' },
  'token-file': { type: 'string' },
  plaintext: { type: 'boolean', default: false },
  'ca-file': { type: 'string' },
  'server-name': { type: 'string' },
  output: { type: 'string', short: 'o', default: 'table' },
  all: { type: 'boolean', default: false },
  cluster: { type: 'string' },
} as const;

const flagHelp = `Flags:
  --console HOST:PORT   the console's gRPC address (required)
  --token-file FILE     bearer token file (required unless env SIGHTLINE_CONSOLE_TOKEN holds the token)
  --plaintext           no TLS (loopback development consoles only)
  --ca-file FILE        CA bundle for the console's TLS certificate (default: system roots)
  --server-name NAME    TLS server name override
  -o, --output FORMAT   table (default; fitted to the terminal's width, or $COLUMNS, or 120
                        columns when not a terminal), wide (every column, nothing shortened) or json
Exit codes: 0 ok, 1 console unreachable or bad reply, 2 bad usage or no token.`;

function toOptions(argv: string[], view: 'clusters' | 'records' | 'nodes'): ListCommandOptions | 'help' {
  const { values } = parseCommandArgs(argv, flags);
  if (values.help) return 'help';
  const output = values.output;
  if (output !== 'table' && output !== 'wide' && output !== 'json')
    throw new UsageError('--output must be table, wide or json');
  if (values.all && view !== 'records') throw new UsageError('--all applies to records list only');
  if (values.cluster !== undefined && view !== 'nodes')
    throw new UsageError('--cluster applies to nodes list only');
  if (values.cluster === '') throw new UsageError('--cluster needs a cluster name or id');
  const opts: ListCommandOptions = {
    console: requireString(values.console, '--console'),
    plaintext: values.plaintext,
    output,
    all: values.all,
  };
  if (values['token-file'] !== undefined) opts.tokenFile = values['token-file'];
  const envToken = process.env['SIGHTLINE_CONSOLE_TOKEN'];
  if (opts.tokenFile === undefined && envToken !== undefined) opts.token = envToken;
  if (values['ca-file'] !== undefined) opts.caFile = values['ca-file'];
  if (values['server-name'] !== undefined) opts.serverName = values['server-name'];
  if (values.cluster !== undefined) opts.cluster = values.cluster;
  return opts;
}

export const clustersListCli: Command = {
  name: 'clusters list',
  summary:
    'list clusters as the console sees them (NAME, PROVIDER, REGION, AGENT VERSION, LAST SEEN, ACTIVITY)',
  help: `Usage: sightline clusters list --console HOST:PORT [flags]

One row per cluster: NAME, PROVIDER, REGION, AGENT VERSION, LAST SEEN, ACTIVITY (per controller);
-o wide adds WORKLOADS (live) and NODES (ECS container instances).

${flagHelp}`,
  async run(argv) {
    const opts = toOptions(argv, 'clusters');
    if (opts === 'help') {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    return clustersListCommand(opts);
  },
};

export const recordsListCli: Command = {
  name: 'records list',
  summary: 'list images: each digest with the workloads and clusters it runs in and LAST SEEN',
  help: `Usage: sightline records list --console HOST:PORT [--all] [flags]

One row per image (reference + digest): IMAGE, DIGEST (sha256 and 12 hex digits; full with -o wide),
WORKLOADS (region or cluster / name, as many as fit, then +N), CLUSTERS, LAST SEEN. Images no
workload runs any more (superseded by a newer digest, or their workloads deleted) are hidden.
  --all                 also show superseded and deleted images, marked in a STATE column
-o json prints every record (per image per cluster) with "current" at record and workload level.

${flagHelp}`,
  async run(argv) {
    const opts = toOptions(argv, 'records');
    if (opts === 'help') {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    return recordsListCommand(opts);
  },
};

export const nodesListCli: Command = {
  name: 'nodes list',
  summary:
    'list nodes (ECS container instances) like kubectl get nodes: STATUS, INSTANCE TYPE, RUNNING TASKS, AGE',
  help: `Usage: sightline nodes list --console HOST:PORT [--cluster NAME|ID] [flags]

One row per node (ECS container instance; Cloud Run has none): CLUSTER, NAME (EC2 instance id),
STATUS (ACTIVE, DRAINING...), INSTANCE TYPE, RUNNING TASKS (live tasks placed on it and RUNNING),
AGE (since first seen), LAST SEEN; -o wide adds ZONE, CAPACITY PROVIDER, AGENT VERSION, OS and ID
(the container instance ARN). -o json adds every task placed on it (tasks) and the node's metadata.
  --cluster NAME|ID     only the nodes of this cluster (as clusters list names it, or its id)

${flagHelp}`,
  async run(argv) {
    const opts = toOptions(argv, 'nodes');
    if (opts === 'help') {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    return nodesListCommand(opts);
  },
};
