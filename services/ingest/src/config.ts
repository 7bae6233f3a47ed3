import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const ingestEnv = platformEnv.extend({
  /** HTTP port; 4318 is the OTLP/HTTP port, so OpenTelemetry exporters can point here. */
  INGEST_PORT: envPort.default(4318),
  INGEST_HOST: z.string().default('0.0.0.0'),
  /** Largest request body accepted, after decompression (bytes). */
  INGEST_MAX_BODY_BYTES: z.coerce.number().int().positive().default(10 * 1024 * 1024),
  /** Milliseconds to wait for Kafka's acknowledgement before answering 503. */
  INGEST_PRODUCE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

export type IngestConfig = z.infer<typeof ingestEnv>;

export function loadIngestConfig(env: Record<string, string | undefined> = process.env): IngestConfig {
  return parseEnv(ingestEnv, env);
}
