import { envBoolean, envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { z } from 'zod';

export const apiEnv = platformEnv.extend({
  /** HTTP port of the query API, the dashboard and the OpenAPI spec. */
  API_PORT: envPort.default(8080),
  API_HOST: z.string().default('0.0.0.0'),
  /** Longest time range one query may cover, in days. */
  API_MAX_RANGE_DAYS: z.coerce.number().int().positive().default(400),
  /** Run the governance evaluator (budget and stop-loss alerts, webhooks) in this api process. */
  API_GOVERNANCE_EVALUATOR: envBoolean.default(true),
  /** Milliseconds between two governance evaluations. */
  API_GOVERNANCE_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  /** First webhook retry delay in ms; doubles per failed attempt, with jitter. */
  API_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).default(1_000),
  /** Longest webhook retry delay in ms. */
  API_WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).default(300_000),
  /** How long one webhook POST may take, in ms. */
  API_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Run the hourly usage rollup job (usage_hourly) in this api process; one process per deployment is enough. */
  API_ROLLUP: envBoolean.default(true),
  /** Serve queries from the rollups where they are current ("false": every query reads the facts, as a reference). */
  API_ROLLUP_READ: envBoolean.default(true),
  /** Milliseconds between two rollup passes. */
  API_ROLLUP_INTERVAL_MS: z.coerce.number().int().min(50).default(5_000),
  /** Facts are rolled up once written this many ms ago, so an insert still committing is never skipped. */
  API_ROLLUP_VISIBILITY_LAG_MS: z.coerce.number().int().min(0).default(2_000),
  /** Hours recomputed per INSERT by the rollup job. */
  API_ROLLUP_HOURS_PER_INSERT: z.coerce.number().int().min(1).default(24),
});

export type ApiConfig = z.infer<typeof apiEnv>;

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return parseEnv(apiEnv, env);
}
