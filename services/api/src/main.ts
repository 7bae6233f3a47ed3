import { startReplay } from '@tokenledger/attributor';
import {
  clickHouseSettings, connectClickHouse, createKafka, createLogger, devKeys, devKeysEnv, exitOnStartupError, keyRingFor, migrate, parseEnv, SchemaRegistry, stopOnSignal,
} from '@tokenledger/infra';
import { loadApiConfig } from './config.js';
import { startApi } from './service.js';

const logger = createLogger('api');
try {
  const config = loadApiConfig();
  const settings = clickHouseSettings(config, config.TOKENLEDGER_DATA_DIR);
  const clickhouse = await connectClickHouse(settings);
  if (config.CLICKHOUSE_MIGRATE) await migrate(clickhouse, settings, logger);
  const keys = keyRingFor(devKeys(parseEnv(devKeysEnv)));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const replayKafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-replay', logger);
  const service = await startApi(config, {
    logger, clickhouse, keys, registry,
    startReplay: (options) => startReplay({ kafka: replayKafka, registry, clickhouse, logger }, options),
  });
  stopOnSignal(async () => {
    await service.stop();
    await clickhouse.close();
  }, logger);
} catch (error) {
  exitOnStartupError(logger)(error);
}
