/** `sightline schema`: prints the config file's JSON Schema (generated from the zod schema). */
import { z } from 'zod';
import { configSchema } from '../../config/schema.js';
import type { Command } from '../command.js';
import { parseCommandArgs } from '../command.js';
import { EXIT_OK } from '../exit-codes.js';

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}

export const schemaCommand: Command = {
  name: 'schema',
  summary: 'print the config JSON Schema',
  help: 'Usage: sightline schema\n\nPrints the JSON Schema of the config file (also committed as config/schema.json).',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {});
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    return EXIT_OK;
  },
};
