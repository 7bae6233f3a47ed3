import { runService, SchemaRegistry } from '@tokenledger/infra';
import { loadAttributorConfig } from './config.js';
import { startAttributor } from './service.js';

await runService('attributor', loadAttributorConfig, (config, clickhouse, logger) =>
  startAttributor(config, { logger, clickhouse, registry: new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }) }),
);
