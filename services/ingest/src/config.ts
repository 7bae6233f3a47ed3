import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const ingestEnv = platformEnv.extend({
  /** HTTP port; 4318 is the OTLP/HTTP port, so OpenTelemetry exporters can point here. */
  INGEST_PORT: envPort.default(4318),
  /** Interface to listen on. */
  INGEST_HOST: z.string().default('0.0.0.0'),
  /** Largest request body accepted, after decompression (bytes). */
  INGEST_MAX_BODY_BYTES: z.coerce.number().int().positive().default(10 * 1024 * 1024),
  /** Milliseconds to wait for Kafka's acknowledgement before answering 503. */
  INGEST_PRODUCE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Bytes of messages per Kafka produce request: below the broker's message.max.bytes (1 MiB by default). */
  INGEST_PRODUCE_MAX_BYTES: z.coerce.number().int().positive().default(1_000_000),
  /** Milliseconds to gather concurrent requests' events into one Kafka batch. */
  INGEST_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(2),
  /** Runs the Kafka producer on its own thread, beside the one that parses and validates requests. */
  INGEST_PRODUCER_THREAD: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Threads that read, validate and Avro-encode /v1/usage and /v1/outcomes bodies beside the HTTP thread; 0: on the HTTP thread. */
  INGEST_ENCODER_THREADS: z.coerce.number().int().min(0).max(16).default(1),
});

export type IngestConfig = z.infer<typeof ingestEnv>;

export function loadIngestConfig(env: Record<string, string | undefined> = process.env): IngestConfig {
  return parseEnv(ingestEnv, env);
}
