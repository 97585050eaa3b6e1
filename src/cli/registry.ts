/** Every command the CLI knows, in the order `--help` lists them. */
import type { Command } from './command.js';
import { validateCommand } from './commands/validate.js';
import { versionCommand } from './commands/version.js';
import { schemaCommand } from './commands/schema.js';

export const commands: Command[] = [validateCommand, schemaCommand, versionCommand];
