/** `sightline run --config FILE`: the daemon for one customer account, until SIGTERM/SIGINT. */
import { loadConfigFile } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { defaults } from '../../config/defaults.js';
import { providers } from '../../../adapters/index.js';
import { secretFieldNames } from '../../provider/registration.js';
import { createLogger } from '../../runtime/logger.js';
import { createRegistry } from '../../runtime/metrics.js';
import { onShutdownSignals } from '../../runtime/shutdown.js';
import { agentVersion } from '../../runtime/version.js';
import { Daemon } from '../../daemon/daemon.js';
import type { ElectedDaemon } from '../../daemon/elected.js';
import { StateRefusedError } from '../../state/refused.js';
import type { Command } from '../command.js';
import { parseCommandArgs, requireString } from '../command.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'watch the configured accounts and feed the console (the daemon)',
  help: `Usage: sightline run --config FILE

Starts every configured provider adapter, the watch engine and the console client, and serves
/healthz, /readyz and /metrics on http.listen. Stops cleanly on SIGTERM or SIGINT (pending
console updates stay in the state directory's outbox and are sent after the next start). With
leaderElection.enabled, only the replica holding the Lease watches and pushes; the others stand by.
Exit codes: 0 stopped cleanly (also with changes pending: they are durable in the outbox),
1 runtime failure, 2 invalid config or unusable state directory (another daemon holds it, or its
database is from a newer sightline; nothing started).`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { config: { type: 'string', short: 'c' } });
    if (values.help) {
      process.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const file = requireString(values.config, '--config');
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
    const logger = createLogger({ level: config.log.level, secretFields: secretFieldNames(providers) });
    const options = { logger, registry: createRegistry(), agentVersion };
    let daemon: Daemon | ElectedDaemon;
    try {
      // The Kubernetes client (seconds to load) only when a Lease is used.
      daemon = config.leaderElection.enabled
        ? new (await import('../../daemon/elected.js')).ElectedDaemon(config, options)
        : new Daemon(config, options);
    } catch (err) {
      logger.error({ err }, 'start-up failed');
      return EXIT_FAILURE;
    }
    try {
      await daemon.start();
    } catch (err) {
      await daemon.stop().catch(() => undefined);
      if (err instanceof StateRefusedError) {
        // An operator must act (another daemon, a newer database): one clear line, exit 2.
        logger.error({ stateDir: config.stateDir }, err.message);
        logger.flush();
        process.stderr.write(`${err.message}\n`);
        return EXIT_USAGE;
      }
      logger.error({ err }, 'start-up failed');
      return EXIT_FAILURE;
    }
    logger.info({ version: agentVersion, config: file }, 'sightline running');
    await new Promise<void>((resolve) => {
      onShutdownSignals(
        async () => {
          await daemon.stop();
          resolve();
        },
        defaults.shutdownDeadlineMs,
        logger,
      );
    });
    return EXIT_OK;
  },
};
