/** `sightline once --config FILE --output json|table`: one full inventory pass, printed, then exit. */
import { loadConfigFile } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { providers } from '../../../adapters/index.js';
import { secretFieldNames } from '../../provider/registration.js';
import { createLogger } from '../../runtime/logger.js';
import { createRegistry } from '../../runtime/metrics.js';
import { agentVersion } from '../../runtime/version.js';
import { inventoryOnce } from '../../daemon/once.js';
import { renderInventoryTable } from '../../daemon/inventory-table.js';
import type { Command } from '../command.js';
import { UsageError, parseCommandArgs, requireString } from '../command.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

export const onceCommand: Command = {
  name: 'once',
  summary: 'list everything once (an ad-hoc inventory) and exit',
  help: `Usage: sightline once --config FILE [--output table|json]

Lists every cluster, workload (with images and digests) and node of the configured providers once,
prints it, and exits. Needs no console and writes no state.
Exit codes: 0 complete, 1 some sources could not be listed (the rest is printed), 2 invalid config.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      output: { type: 'string', short: 'o', default: 'table' },
    });
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const file = requireString(values.config, '--config');
    const output = values.output;
    if (output !== 'table' && output !== 'json') throw new UsageError('--output must be table or json');
    let config;
    try {
      config = loadConfigFile(file);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        return EXIT_USAGE;
      }
      throw err;
    }
    const logger = createLogger({
      level: config.log.level === 'info' ? 'warn' : config.log.level,
      pretty: false,
      destination: process.stderr,
      secretFields: secretFieldNames(providers),
    });
    const result = await inventoryOnce(config, { logger, registry: createRegistry(false), agentVersion });
    if (output === 'json')
      process.stdout.write(
        `${JSON.stringify({ objects: result.objects, errors: result.errors }, null, 2)}\n`,
      );
    else process.stdout.write(renderInventoryTable(result.objects));
    for (const e of result.errors) process.stderr.write(`could not list ${e.source}: ${e.message}\n`);
    return result.errors.length > 0 ? EXIT_FAILURE : EXIT_OK;
  },
};
