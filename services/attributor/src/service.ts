import {
  assertTopicsExist, BatchConsumer, configFeed, createKafka, createMetricsRegistry, createServiceHttp, DeadLetterSink, Projections,
  type ClickHouseClient, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import { topics, usageEventAvro, type UsageEvent } from '@tokenledger/schemas';
import { Counter } from 'prom-client';
import type { AttributorConfig } from './config.js';
import { ConfigStore } from './config-store.js';
import { checkUsageEvent } from './usage-contract.js';
import { usageFactWriter } from './usage-writer.js';

export interface AttributorDeps {
  logger: Logger;
  clickhouse: ClickHouseClient;
  registry: SchemaRegistry;
}

export interface AttributorService {
  url: string;
  stop(): Promise<void>;
}

/**
 * Consumes usage events, prices and attributes each under its tenant's configuration (folded
 * from the config topic), and writes one usage fact per event to ClickHouse. Offsets are
 * committed only after the facts are written; a redelivered event rewrites the same row.
 */
export async function startAttributor(config: AttributorConfig, deps: AttributorDeps): Promise<AttributorService> {
  const log = deps.logger;
  const metrics = createMetricsRegistry('attributor');
  const kafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-attributor', log);
  const admin = kafka.admin();
  await admin.connect();
  await assertTopicsExist(admin, [topics.usage, topics.config, topics.deadLetter]);
  await admin.disconnect();

  const configRejected = new Counter({ name: 'tokenledger_config_changes_rejected_total', help: 'Config events that failed validation', registers: [metrics] });
  const store = new ConfigStore();
  const configReader = configFeed(kafka, deps.registry, store, log, () => configRejected.inc());
  await configReader.start();

  const projections = new Projections(deps.clickhouse);
  await projections.start();
  const deadLetters = new DeadLetterSink(kafka, topics.deadLetter);
  await deadLetters.start();
  const consumer = new BatchConsumer<UsageEvent>({
    name: 'attributor',
    kafka,
    groupId: config.ATTRIBUTOR_GROUP_ID,
    topic: topics.usage,
    registry: deps.registry,
    readerSchema: usageEventAvro,
    contract: checkUsageEvent,
    deadLetters,
    log,
    metrics,
    partitionsConsumedConcurrently: config.ATTRIBUTOR_PARTITIONS_CONCURRENTLY,
    maxBytesPerPartition: config.ATTRIBUTOR_MAX_BYTES_PER_PARTITION,
    // Every active projection gets the facts: the served one, and one a replay is building.
    handle: usageFactWriter(deps.clickhouse, store, () => projections.activeRows()),
  });
  await consumer.start();

  const app = createServiceHttp({ logger: log, metrics, isReady: () => consumer.isHealthy });
  const url = await app.listen({ port: config.ATTRIBUTOR_PORT, host: config.ATTRIBUTOR_HOST });
  log.info({ event: 'service_started', url }, 'attributor consuming');
  return {
    url,
    async stop() {
      await app.close();
      await consumer.stop();
      await configReader.stop();
      await deadLetters.stop();
      projections.stop();
    },
  };
}
