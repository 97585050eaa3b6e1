/** `sightline version`: prints the agent version. */
import { agentVersion } from '../../runtime/version.js';
import type { Command } from '../command.js';
import { parseCommandArgs } from '../command.js';
import { EXIT_OK } from '../exit-codes.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the version',
  help: 'Usage: sightline version\n\nPrints the agent version (the one reported to the console) and the Node.js version.',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {});
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    process.stdout.write(`sightline ${agentVersion} (node ${process.version})\n`);
    return EXIT_OK;
  },
};
