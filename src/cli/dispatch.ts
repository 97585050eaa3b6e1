/**
 * The `sightline` command's dispatch (main.ts runs it): finds the command (one or two words), runs it and exits
 * with its code. `--help` / `-h` anywhere after a command prints that command's help and exits 0.
 * Usage errors print the command's help and exit 2; an unexpected error prints its
 * (secret-scrubbed) message and exits 1.
 */
import { commands } from './registry.js';
import { UsageError } from './command.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { redactSecrets } from '../runtime/logger.js';
import { registeredProviders } from './providers-list.js';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `sightline: watches cloud workloads like a Kubernetes informer and feeds the console.
Providers: ${registeredProviders()} (the providers.<id> sections of the config file).

Usage: sightline <command> [flags]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'sightline <command> --help' for a command's flags.
Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted.
`;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(overview());
    return argv.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  if (argv[0] === '--version') argv = ['version'];
  const two = `${argv[0] ?? ''} ${argv[1] ?? ''}`;
  const cmd = commands.find((c) => c.name === two) ?? commands.find((c) => c.name === argv[0]);
  if (!cmd) {
    process.stderr.write(`unknown command: ${argv.slice(0, 2).join(' ')}\n\n${overview()}`);
    return EXIT_USAGE;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  // Every command answers --help / -h with its help, before any flag is checked or anything starts.
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.help}\n`);
    return EXIT_OK;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sightline ${cmd.name}: ${err.message}\n\n${cmd.help}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(
      `sightline ${cmd.name}: ${redactSecrets(err instanceof Error ? err.message : String(err))}\n`,
    );
    return EXIT_FAILURE;
  }
}
