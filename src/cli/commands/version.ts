/** `sightline version`: prints the agent version. */
import { agentVersion } from '../../runtime/version.js';
import type { Command } from '../command.js';
import { EXIT_OK } from '../exit-codes.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the version',
  help: 'Usage: sightline version\n\nPrints the agent version (the one reported to the console).',
  async run() {
    process.stdout.write(`sightline ${agentVersion} (node ${process.version})\n`);
    return EXIT_OK;
  },
};
