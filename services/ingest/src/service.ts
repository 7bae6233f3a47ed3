import {
  assertTopicsExist, createKafka, createMetricsRegistry, createServiceHttp, registerAvroSchemas, valueSubject,
  type KeyRing, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import type { IngestConfig } from './config.js';
import { EncoderPool } from './encoder-pool.js';
import { eventKinds } from './kinds.js';
import { createIngestMetrics } from './metrics.js';
import { prepareBody, prepareItems } from './prepare.js';
import { Publisher } from './publisher.js';
import { registerIngestRoutes } from './routes.js';
import { ThreadPublisher } from './thread-publisher.js';
import { encoderFor, unpackMessages, type WireEncoder } from './wire.js';

export interface IngestDeps {
  logger: Logger;
  keys: KeyRing;
  registry: SchemaRegistry;
}

export interface IngestService {
  url: string;
  stop(): Promise<void>;
}

export async function startIngest(config: IngestConfig, deps: IngestDeps): Promise<IngestService> {
  const log = deps.logger;
  const kinds = eventKinds;
  const kafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-ingest', log);

  const admin = kafka.admin();
  await admin.connect();
  await assertTopicsExist(admin, [kinds.usage.topic, kinds.outcome.topic]);
  await admin.disconnect();

  const schemaIds = await registerAvroSchemas(
    deps.registry,
    Object.values(kinds).map((k) => ({ subject: valueSubject(k.topic), schema: k.avroSchema })),
  );
  const schemaIdByTopic = Object.fromEntries(Object.values(kinds).map((k) => [k.topic, schemaIds.get(valueSubject(k.topic))!]));
  // One encoder per topic, from the registry's own parsed schema: the bytes its encode() would give.
  const encoders = new Map<string, WireEncoder>();
  for (const [topic, schemaId] of Object.entries(schemaIdByTopic)) encoders.set(topic, await encoderFor(deps.registry, schemaId, topic));
  const publisherOptions = {
    timeoutMs: config.INGEST_PRODUCE_TIMEOUT_MS,
    lingerMs: config.INGEST_LINGER_MS,
    maxBatchMessages: 5_000,
    maxBatchBytes: config.INGEST_PRODUCE_MAX_BYTES,
  };
  const publisher = config.INGEST_PRODUCER_THREAD
    ? new ThreadPublisher({ brokers: config.KAFKA_BROKERS, clientId: 'tokenledger-ingest', logLevel: log.level, options: publisherOptions }, log)
    : new Publisher(kafka, publisherOptions);
  await publisher.start();
  const pool = config.INGEST_ENCODER_THREADS > 0
    ? new EncoderPool(config.INGEST_ENCODER_THREADS, { registryUrl: config.SCHEMA_REGISTRY_URL, schemaIds: schemaIdByTopic, maxBodyBytes: config.INGEST_MAX_BODY_BYTES }, log)
    : undefined;
  try {
    await pool?.start();
  } catch (error) {
    await publisher.stop();
    throw error;
  }

  const metrics = createMetricsRegistry('ingest');
  const app = createServiceHttp({
    logger: log,
    metrics,
    isReady: () => publisher.isConnected && (pool?.isHealthy ?? true),
    fastify: { bodyLimit: config.INGEST_MAX_BODY_BYTES },
  });
  registerIngestRoutes(app, kinds, {
    keys: deps.keys,
    metrics: createIngestMetrics(metrics),
    maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
    prepareItems: (kind, items, envelope) => prepareItems(kind, items, envelope, encoders.get(kind.topic)!),
    prepareBody: pool
      ? (kind, raw, envelope) => pool.prepare(kind, raw, envelope)
      : (kind, raw, envelope) => prepareBody(kind, raw, envelope, encoders.get(kind.topic)!, config.INGEST_MAX_BODY_BYTES),
    publish: publisher instanceof ThreadPublisher
      ? (topic, messages) => publisher.publishPacked(topic, messages)
      : (topic, messages) => publisher.publish(topic, unpackMessages(messages)),
  });
  const url = await app.listen({ port: config.INGEST_PORT, host: config.INGEST_HOST });
  log.info({ event: 'service_started', url }, 'ingest listening');
  return {
    url,
    async stop() {
      await app.close(); // stop accepting; in-flight requests finish (and are acknowledged) first
      await pool?.stop();
      await publisher.stop();
    },
  };
}
