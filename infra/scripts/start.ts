/**
 * `npm start`: the whole pipeline on one machine. Starts Kafka and the schema registry (unless
 * KAFKA_BROKERS / SCHEMA_REGISTRY_URL point elsewhere), then the four services in this one
 * process sharing one ClickHouse client (embedded chDB allows one open data directory per
 * process). Ctrl-C stops the services first (ingest stops accepting, consumers commit what
 * is durable), then the JVMs.
 */
import { startApi, loadApiConfig } from '@tokenledger/api';
import { startAttributor, loadAttributorConfig, startReplay } from '@tokenledger/attributor';
import { startIngest, loadIngestConfig } from '@tokenledger/ingest';
import { startJoiner, loadJoinerConfig } from '@tokenledger/outcome-joiner';
import {
  clickHouseSettings, connectClickHouse, createKafka, createLogger, devKeys, devKeysEnv, ensureTopics,
  keyRingFor, migrate, parseEnv, platformEnv, SchemaRegistry,
} from '@tokenledger/infra';
import { startLocalStack, type LocalStack } from '@tokenledger/infra/local';
import { topicSpecs } from '@tokenledger/schemas';

const log = createLogger('tokenledger');
const say = (message: string) => process.stdout.write(`${message}\n`);

async function main(): Promise<void> {
  const env = { ...process.env };
  const platform = parseEnv(platformEnv, env);
  const keys = devKeys(parseEnv(devKeysEnv, env));

  let stack: LocalStack | undefined;
  if (!env.KAFKA_BROKERS || !env.SCHEMA_REGISTRY_URL) {
    say('Starting local Kafka and schema registry...');
    stack = await startLocalStack({
      dataDir: platform.TOKENLEDGER_DATA_DIR,
      kafkaPort: 9092, kafkaControllerPort: 9093, registryPort: 8081,
      log: say,
    });
    env.KAFKA_BROKERS ??= stack.brokers.join(',');
    env.SCHEMA_REGISTRY_URL ??= stack.registryUrl;
  }
  const stops: (() => Promise<void>)[] = [];
  const shutdown = once(async (signal: string) => {
    say(`\n${signal}: stopping...`);
    for (const stop of stops.reverse()) await stop().catch((e) => log.error({ event: 'stop_failed', err: e }));
    await stack?.stop();
    say('stopped.');
  });
  process.on('SIGINT', () => void shutdown('SIGINT').then(() => process.exit(0)));
  process.on('SIGTERM', () => void shutdown('SIGTERM').then(() => process.exit(0)));

  try {
    const configs = {
      ingest: loadIngestConfig(env),
      attributor: loadAttributorConfig(env),
      joiner: loadJoinerConfig(env),
      api: loadApiConfig(env),
    };
    const shared = parseEnv(platformEnv, env);
    const clickhouse = await connectClickHouse(clickHouseSettings(shared, shared.TOKENLEDGER_DATA_DIR));
    stops.push(() => clickhouse.close());
    if (shared.CLICKHOUSE_MIGRATE) await migrate(clickhouse, { cluster: shared.CLICKHOUSE_CLUSTER }, log);

    const admin = createKafka(shared.KAFKA_BROKERS, 'tokenledger-setup', log).admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs());
    await admin.disconnect();

    const registry = new SchemaRegistry({ host: shared.SCHEMA_REGISTRY_URL });
    const keyRing = keyRingFor(keys);
    const attributor = await startAttributor(configs.attributor, { logger: createLogger('attributor', shared.LOG_LEVEL), clickhouse, registry });
    stops.push(attributor.stop);
    const joiner = await startJoiner(configs.joiner, { logger: createLogger('outcome-joiner', shared.LOG_LEVEL), clickhouse, registry });
    stops.push(joiner.stop);
    const api = await startApi(configs.api, {
      logger: createLogger('api', shared.LOG_LEVEL), clickhouse, keys: keyRing, registry,
      startReplay: (options) => startReplay({ kafka: createKafka(shared.KAFKA_BROKERS, 'tokenledger-replay', log), registry, clickhouse, logger: log }, options),
    });
    stops.push(api.stop);
    const ingest = await startIngest(configs.ingest, { logger: createLogger('ingest', shared.LOG_LEVEL), keys: keyRing, registry });
    stops.push(ingest.stop);

    say([
      '',
      'tokenledger is running (Ctrl-C to stop)',
      `  ingest          ${ingest.url}   (POST /v1/usage, /v1/outcomes, /v1/traces)`,
      `  api             ${api.url}   (dashboard at /, OpenAPI at /openapi.json)`,
      `  attributor      ${attributor.url}/metrics`,
      `  outcome-joiner  ${joiner.url}/metrics`,
      `  kafka           ${shared.KAFKA_BROKERS.join(',')}`,
      `  schema registry ${shared.SCHEMA_REGISTRY_URL}`,
      `  clickhouse      ${shared.CLICKHOUSE_URL ?? `embedded chDB at ${shared.TOKENLEDGER_DATA_DIR}/clickhouse`}`,
      '',
      `  tenant          ${keys.tenantId}`,
      `  ingest key      ${keys.ingest}`,
      `  query key       ${keys.query}`,
      `  admin key       ${keys.admin}`,
      '',
    ].join('\n'));
  } catch (error) {
    await shutdown('start-up failed');
    throw error;
  }
}

function once<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let running: Promise<void> | undefined;
  return (...args) => (running ??= fn(...args));
}

main().catch((error: unknown) => {
  say(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
