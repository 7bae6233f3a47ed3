import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { createLogger, devKeys, devKeysEnv, exitOnStartupError, keyRingFor, parseEnv, stopOnSignal } from '@tokenledger/infra';
import { loadIngestConfig } from './config.js';
import { startIngest } from './service.js';

const logger = createLogger('ingest');
try {
  const config = loadIngestConfig();
  const keys = keyRingFor(devKeys(parseEnv(devKeysEnv)));
  const service = await startIngest(config, { logger, keys, registry: new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }) });
  stopOnSignal(service.stop, logger);
} catch (error) {
  exitOnStartupError(logger)(error);
}
