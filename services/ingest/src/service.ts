import { createKafka, createMetricsRegistry, createServiceHttp, type KeyRing, type Logger } from '@tokenledger/infra';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { IngestConfig } from './config.js';

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
  const metrics = createMetricsRegistry('ingest');
  const kafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-ingest', log);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  let connected = true;
  producer.on(producer.events.DISCONNECT, () => (connected = false));
  producer.on(producer.events.CONNECT, () => (connected = true));

  const app = createServiceHttp({ logger: log, metrics, isReady: () => connected, fastify: { bodyLimit: config.INGEST_MAX_BODY_BYTES } });
  const url = await app.listen({ port: config.INGEST_PORT, host: config.INGEST_HOST });
  log.info({ event: 'service_started', url }, 'ingest listening');
  return {
    url,
    async stop() {
      await app.close(); // stop accepting; in-flight requests finish first
      await producer.disconnect();
    },
  };
}
