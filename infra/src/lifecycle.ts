import { clickHouseSettings, connectClickHouse, migrate, type ClickHouseClient } from './clickhouse.js';
import { createLogger, type Logger } from './logger.js';
import type { PlatformEnv } from './platform.js';

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

/**
 * The standalone entry of a service that reads or writes ClickHouse: parse config, connect,
 * migrate (unless disabled), start, and stop cleanly on a signal. Fails fast, naming the cause.
 */
export async function runService<C extends PlatformEnv>(
  name: string,
  loadConfig: () => C,
  start: (config: C, clickhouse: ClickHouseClient, logger: Logger) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  const logger = createLogger(name);
  try {
    const config = loadConfig();
    const settings = clickHouseSettings(config, config.TOKENLEDGER_DATA_DIR);
    const clickhouse = await connectClickHouse(settings);
    if (config.CLICKHOUSE_MIGRATE) await migrate(clickhouse, settings, logger);
    const service = await start(config, clickhouse, logger);
    stopOnSignal(async () => {
      await service.stop();
      await clickhouse.close();
    }, logger);
  } catch (error) {
    exitOnStartupError(logger)(error);
  }
}
