import { clickHouseSettings, connectClickHouse, createLogger, exitOnStartupError, migrate, SchemaRegistry, stopOnSignal } from '@tokenledger/infra';
import { loadJoinerConfig } from './config.js';
import { startJoiner } from './service.js';

const logger = createLogger('outcome-joiner');
try {
  const config = loadJoinerConfig();
  const settings = clickHouseSettings(config, config.TOKENLEDGER_DATA_DIR);
  const clickhouse = await connectClickHouse(settings);
  if (config.CLICKHOUSE_MIGRATE) await migrate(clickhouse, settings, logger);
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const service = await startJoiner(config, { logger, clickhouse, registry });
  stopOnSignal(async () => {
    await service.stop();
    await clickhouse.close();
  }, logger);
} catch (error) {
  exitOnStartupError(logger)(error);
}
