import { startReplay } from '@tokenledger/attributor';
import { createKafka, devKeys, devKeysEnv, keyRingFor, parseEnv, runService, SchemaRegistry } from '@tokenledger/infra';
import { loadApiConfig } from './config.js';
import { startApi } from './service.js';

await runService('api', loadApiConfig, (config, clickhouse, logger) => {
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const replayKafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-replay', logger);
  return startApi(config, {
    logger, clickhouse, registry,
    keys: keyRingFor(devKeys(parseEnv(devKeysEnv))),
    startReplay: (options) => startReplay({ kafka: replayKafka, registry, clickhouse, logger }, options),
  });
});
