/** `sightline validate --config FILE`: loads and checks a config; prints every problem with its field path. */
import { loadConfigFile } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { configuredProviders } from '../../config/provider-sections.js';
import type { Command } from '../command.js';
import { parseCommandArgs, requireString } from '../command.js';
import { EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a config file and exit (0 valid, 2 invalid)',
  help: `Usage: sightline validate --config FILE

Loads FILE (YAML), substitutes \${VAR} references, validates every field and checks that the files
it names are readable. Prints a summary when valid; otherwise every problem with its field path.
Exit codes: 0 valid, 2 invalid.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { config: { type: 'string', short: 'c' } });
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const file = requireString(values.config, '--config');
    try {
      const config = loadConfigFile(file);
      const parts = configuredProviders(config.providers).map(
        ({ registration, section }) => `${registration.id}: ${registration.summary(section)}`,
      );
      process.stdout.write(`${file}: valid (${parts.join('; ')}; console ${config.console.address})\n`);
      return EXIT_OK;
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        return EXIT_USAGE;
      }
      throw err;
    }
  },
};
