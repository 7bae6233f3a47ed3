import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const apiEnv = platformEnv.extend({
  /** HTTP port of the query API, the dashboard and the OpenAPI spec. */
  API_PORT: envPort.default(8080),
  API_HOST: z.string().default('0.0.0.0'),
  /** Longest time range one query may cover, in days. */
  API_MAX_RANGE_DAYS: z.coerce.number().int().positive().default(400),
});

export type ApiConfig = z.infer<typeof apiEnv>;

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return parseEnv(apiEnv, env);
}
