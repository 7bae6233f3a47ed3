import {
  assertTopicsExist, BatchConsumer, createKafka, createMetricsRegistry, createServiceHttp, DeadLetterSink, decodeAvro, Projections,
  TopicReader, type ClickHouseClient, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import { configEventAvro, configEventSchema, topics, usageEventAvro, usageEventSchema, type UsageEvent } from '@tokenledger/schemas';
import { Counter } from 'prom-client';
import { attributeUsage } from './attribute.js';
import type { AttributorConfig } from './config.js';
import { ConfigStore } from './config-store.js';
import { usageFactRow } from './facts.js';

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
  const configReader = new TopicReader({
    kafka,
    topic: topics.config,
    name: 'tokenledger-attributor-config',
    log,
    async onMessage(message) {
      if (!message.value) return;
      const decoded = configEventSchema.safeParse(
        await decodeAvro(deps.registry, message.value, configEventAvro).catch(() => undefined),
      );
      const result = decoded.success ? store.apply(decoded.data, Number(message.offset)) : { ok: false as const, reason: 'undecodable config event' };
      if (!result.ok) {
        configRejected.inc();
        log.warn({ event: 'config_change_rejected', offset: message.offset, reason: result.reason }, 'config change ignored');
      }
    },
  });
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
    contract: usageEventSchema,
    deadLetters,
    log,
    metrics,
    async handle(messages) {
      const facts = messages.map(({ value, partition, offset }) =>
        usageFactRow(attributeUsage(value, store.compiledFor(value.tenant_id)), value, { partition, offset }),
      );
      // Every active projection gets the fact: the served one, and one a replay is building.
      const rows = projections.active().flatMap((projection) => facts.map((fact) => ({ ...fact, projection })));
      await deps.clickhouse.insert({ table: 'usage_facts', values: rows, format: 'JSONEachRow' });
    },
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
