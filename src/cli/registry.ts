/** Every command the CLI knows, in the order `--help` lists them. */
import type { Command } from './command.js';
import { runCommand } from './commands/run.js';
import { demoCommand } from './commands/demo.js';
import { validateCommand } from './commands/validate.js';
import { onceCommand } from './commands/once.js';
import { clustersListCli, nodesListCli, recordsListCli } from './commands/console-views.js';
import { consoleServeCli } from './commands/console-serve.js';
import { recordsRejectedCli, recordsRequeueCli } from './commands/records-rejected.js';
import { schemaCommand } from './commands/schema.js';
import { versionCommand } from './commands/version.js';

export const commands: Command[] = [
  runCommand,
  validateCommand,
  onceCommand,
  demoCommand,
  clustersListCli,
  recordsListCli,
  nodesListCli,
  recordsRejectedCli,
  recordsRequeueCli,
  consoleServeCli,
  schemaCommand,
  versionCommand,
];
