import { runService, SchemaRegistry } from '@tokenledger/infra';
import { loadJoinerConfig } from './config.js';
import { startJoiner } from './service.js';

await runService('outcome-joiner', loadJoinerConfig, (config, clickhouse, logger) =>
  startJoiner(config, { logger, clickhouse, registry: new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }) }),
);
