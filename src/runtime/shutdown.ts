/**
 * Graceful shutdown on SIGTERM/SIGINT: runs the given stop function once, and exits the process
 * with code 0 when it finished, or 1 when it did not finish within `deadlineMs` (a second signal
 * exits at once with 130). Returns a function that removes the handlers.
 */
import type { Logger } from 'pino';

export function onShutdownSignals(
  stop: (signal: string) => Promise<void>,
  deadlineMs: number,
  logger: Logger,
): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal, deadlineMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed: exiting with work pending');
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    stop(signal).then(
      () => {
        clearTimeout(timer);
        logger.info('stopped cleanly');
        logger.flush();
        process.exitCode = 0;
        setImmediate(() => process.exit(0));
      },
      (err: unknown) => {
        clearTimeout(timer);
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
