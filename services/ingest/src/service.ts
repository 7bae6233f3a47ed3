import {
  assertTopicsExist, createKafka, createMetricsRegistry, createServiceHttp, registerAvroSchemas, valueSubject,
  type KeyRing, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import type { IngestConfig } from './config.js';
import { outcomeKind, usageKind, type EventKind } from './kinds.js';
import { createIngestMetrics } from './metrics.js';
import { Publisher } from './publisher.js';
import { registerIngestRoutes } from './routes.js';
import { ThreadPublisher } from './thread-publisher.js';
import { isAvroWriter, WireEncoder } from './wire.js';

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
  const kinds = { usage: usageKind, outcome: outcomeKind } as const;
  const kafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-ingest', log);

  const admin = kafka.admin();
  await admin.connect();
  await assertTopicsExist(admin, [kinds.usage.topic, kinds.outcome.topic]);
  await admin.disconnect();

  const schemaIds = await registerAvroSchemas(
    deps.registry,
    Object.values(kinds).map((k) => ({ subject: valueSubject(k.topic), schema: k.avroSchema })),
  );
  // One encoder per topic, from the registry's own parsed schema: the bytes its encode() would give.
  const encoders = new Map<string, WireEncoder>();
  for (const kind of Object.values(kinds)) {
    const schemaId = schemaIds.get(valueSubject(kind.topic))!;
    const schema = await deps.registry.getSchema(schemaId);
    if (!isAvroWriter(schema)) throw new Error(`schema ${schemaId} of ${kind.topic} is not an Avro schema`);
    encoders.set(kind.topic, new WireEncoder(schema, schemaId));
  }
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

  const metrics = createMetricsRegistry('ingest');
  const app = createServiceHttp({
    logger: log,
    metrics,
    isReady: () => publisher.isConnected,
    fastify: { bodyLimit: config.INGEST_MAX_BODY_BYTES },
  });
  registerIngestRoutes(app, kinds as { usage: EventKind<unknown, unknown>; outcome: EventKind<unknown, unknown> }, {
    keys: deps.keys,
    metrics: createIngestMetrics(metrics),
    maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
    async publish(kind, events) {
      const encoder = encoders.get(kind.topic)!;
      await publisher.publish(kind.topic, events.map((event) => ({ key: kind.key(event), value: encoder.encode(event) })));
    },
  });
  const url = await app.listen({ port: config.INGEST_PORT, host: config.INGEST_HOST });
  log.info({ event: 'service_started', url }, 'ingest listening');
  return {
    url,
    async stop() {
      await app.close(); // stop accepting; in-flight requests finish (and are acknowledged) first
      await publisher.stop();
    },
  };
}
