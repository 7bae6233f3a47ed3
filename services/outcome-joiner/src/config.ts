import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const joinerEnv = platformEnv.extend({
  /** HTTP port for health, readiness and metrics. */
  JOINER_PORT: envPort.default(9465),
  JOINER_HOST: z.string().default('0.0.0.0'),
});

export type JoinerConfig = z.infer<typeof joinerEnv>;

export function loadJoinerConfig(env: Record<string, string | undefined> = process.env): JoinerConfig {
  return parseEnv(joinerEnv, env);
}
