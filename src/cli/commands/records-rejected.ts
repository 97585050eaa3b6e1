/**
 * `sightline records rejected` and `sightline records requeue`: the outbox rows the agent set aside
 * (`outbox_rejected` in the state database), and putting one back once the console is fixed. Both
 * work on the state directory, not the console, and are safe while the daemon runs. Exit codes: 0
 * ok; 1 no readable state database, or the row was not requeued (the reason on stderr, secrets
 * redacted); 2 bad usage. Other errors propagate.
 */
import { renderRejectedTable, rejectedJson } from '../../console/views.js';
import { redactSecrets } from '../../runtime/logger.js';
import { listRejectedRows, requeueRejectedRow, RejectedRowsError } from '../../state/rejected-rows.js';
import type { Command } from '../command.js';
import { UsageError, parseCommandArgs, requireString } from '../command.js';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';

const MAX_LIST_LIMIT = 10_000;

interface RejectedCommandOptions {
  /** The daemon's stateDir (holds sightline.db). */
  stateDir: string;
  /** At most this many rows, newest first. */
  limit: number;
  output: 'table' | 'json';
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

interface RequeueCommandOptions {
  stateDir: string;
  /** The rejected row's seq, as `records rejected` prints it. */
  seq: number;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** `records rejected`: the rows set aside in the state database, read-only (safe while the daemon runs). */
function rejectedListCommand(opts: RejectedCommandOptions): number {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  try {
    const listing = listRejectedRows(opts.stateDir, opts.limit);
    stdout.write(
      opts.output === 'json'
        ? JSON.stringify(rejectedJson(listing), null, 2) + '\n'
        : renderRejectedTable(listing),
    );
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof RejectedRowsError)) throw err;
    stderr.write(`error: ${redactSecrets(err.message)}\n`);
    return EXIT_FAILURE;
  }
}

/** `records requeue`: moves one rejected row back to the end of the outbox (also while the daemon runs). */
function requeueCommand(opts: RequeueCommandOptions): number {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  try {
    const { row, newSeq } = requeueRejectedRow(opts.stateDir, opts.seq);
    stdout.write(
      `requeued rejected row ${row.seq} (${row.rpc} ${row.key}) as outbox seq ${newSeq}: a running daemon ` +
        'sends it within its heartbeat interval, a stopped one once it starts\n',
    );
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof RejectedRowsError)) throw err;
    stderr.write(`error: ${redactSecrets(err.message)}\n`);
    return EXIT_FAILURE;
  }
}

function positiveInteger(value: string | undefined, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const text = requireString(value, flag);
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

export const recordsRejectedCli: Command = {
  name: 'records rejected',
  summary: 'list the outbox rows set aside in the state database (rejected by the console, or unsendable)',
  help: `Usage: sightline records rejected --state-dir DIR [--limit N] [--json]

Lists the rows the agent set aside instead of delivering them, newest first: rows the console
rejected on their own (INVALID_ARGUMENT) and rows this version cannot send (unknown rpc, unreadable
payload). Columns: SEQ, REJECTED (UTC), RPC, KEY, REASON. The database is opened read-only and
nothing is changed: safe while the daemon runs.

Flags:
  --state-dir DIR       the daemon's stateDir, holding sightline.db (required)
  --limit N             show at most N rows (default 100)
  --json                JSON with each row's payload: {kept, evicted, rows: [{seq, rpc, key, reason,
                        created, rejected, payload}]}
  -o, --output FORMAT   table (default) or json (the same as --json)
Exit codes: 0 ok, 1 no readable state database, 2 bad usage.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      'state-dir': { type: 'string' },
      limit: { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
      output: { type: 'string', short: 'o', default: 'table' },
    });
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const output = values.json ? 'json' : values.output;
    if (output !== 'table' && output !== 'json') throw new UsageError('--output must be table or json');
    return rejectedListCommand({
      stateDir: requireString(values['state-dir'], '--state-dir'),
      limit: positiveInteger(values.limit, '--limit', MAX_LIST_LIMIT),
      output,
    });
  },
};

export const recordsRequeueCli: Command = {
  name: 'records requeue',
  summary: 'move one rejected row back to the end of the outbox, to be sent again',
  help: `Usage: sightline records requeue --state-dir DIR --seq N

Moves the rejected row with seq N (see 'sightline records rejected') back to the end of the outbox
with a new seq, to be sent again: for after the console was fixed. Safe while the daemon runs:
SQLite serializes the two writers, and the daemon continues its own seqs after the requeued row and
sends it within its heartbeat interval; a stopped daemon sends it once it starts.

The row is the change as it was queued. It is refused while the same key has a newer change pending
in the outbox (it would overwrite that change on the console); if a newer change of the object was
already delivered, the console shows this older state until the object changes again. Requeue rows
of the same key oldest first. Rows with an rpc or payload this version cannot send are refused.

Flags:
  --state-dir DIR   the daemon's stateDir, holding sightline.db (required)
  --seq N           the rejected row's seq (required)
Exit codes: 0 requeued, 1 not requeued (no such row, refused, no readable state database), 2 bad usage.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      'state-dir': { type: 'string' },
      seq: { type: 'string' },
    });
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    return requeueCommand({
      stateDir: requireString(values['state-dir'], '--state-dir'),
      seq: positiveInteger(values.seq, '--seq'),
    });
  },
};
