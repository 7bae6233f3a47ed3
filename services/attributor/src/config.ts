import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const attributorEnv = platformEnv.extend({
  /** HTTP port for health, readiness and metrics. */
  ATTRIBUTOR_PORT: envPort.default(9464),
  ATTRIBUTOR_HOST: z.string().default('0.0.0.0'),
  /** Consumer group: instances sharing it split the usage topic's partitions. */
  ATTRIBUTOR_GROUP_ID: z.string().min(1).default('tokenledger-attributor'),
});

export type AttributorConfig = z.infer<typeof attributorEnv>;

export function loadAttributorConfig(env: Record<string, string | undefined> = process.env): AttributorConfig {
  return parseEnv(attributorEnv, env);
}
