import type { Logger } from './logger.js';

/** Stops cleanly on SIGINT/SIGTERM (once), then exits; a second signal exits at once. */
export function stopOnSignal(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ event: 'shutdown', signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ event: 'shutdown_failed', err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

/** Logs a start-up failure (a bad variable names itself in the message) and exits non-zero. */
export function exitOnStartupError(log: Logger): (error: unknown) => never {
  return (error) => {
    log.fatal({ event: 'startup_failed', err: error }, error instanceof Error ? error.message : String(error));
    process.exit(1);
  };
}
