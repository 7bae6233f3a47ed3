import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const apiEnv = platformEnv.extend({
  /** HTTP port for health, readiness and metrics and the query API. */
  API_PORT: envPort.default(8080),
  API_HOST: z.string().default('0.0.0.0'),
});

export type ApiConfig = z.infer<typeof apiEnv>;

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return parseEnv(apiEnv, env);
}
