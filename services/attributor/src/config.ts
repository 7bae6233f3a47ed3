import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const attributorEnv = platformEnv.extend({
  /** HTTP port for health, readiness and metrics. */
  ATTRIBUTOR_PORT: envPort.default(9464),
  ATTRIBUTOR_HOST: z.string().default('0.0.0.0'),
  /** Consumer group: instances sharing it split the usage topic's partitions. */
  ATTRIBUTOR_GROUP_ID: z.string().min(1).default('tokenledger-attributor'),
  /** Partitions whose batches are decoded, priced and written at once: one computes while another's insert runs. */
  ATTRIBUTOR_PARTITIONS_CONCURRENTLY: z.coerce.number().int().positive().default(2),
  /** Most bytes fetched per partition and request: the largest batch, and so the largest insert. */
  ATTRIBUTOR_MAX_BYTES_PER_PARTITION: z.coerce.number().int().positive().default(4 * 1024 * 1024),
});

export type AttributorConfig = z.infer<typeof attributorEnv>;

export function loadAttributorConfig(env: Record<string, string | undefined> = process.env): AttributorConfig {
  return parseEnv(attributorEnv, env);
}
