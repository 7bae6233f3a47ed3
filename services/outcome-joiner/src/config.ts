import { envPort, parseEnv, platformEnv } from '@tokenledger/infra';
import { decimalToNanos, parseDecimal } from '@tokenledger/schemas';
import { z } from 'zod';

export const joinerEnv = platformEnv.extend({
  /** HTTP port for health, readiness and metrics. */
  JOINER_PORT: envPort.default(9465),
  JOINER_HOST: z.string().default('0.0.0.0'),
  /** Consumer group for the outcomes topic. */
  JOINER_GROUP_ID: z.string().min(1).default('tokenledger-outcome-joiner'),
  /** Hours after a run's last call before its unclaimed spend counts as spend with no outcome. */
  JOINER_HORIZON_HOURS: z.coerce.number().positive().default(168),
  /** Milliseconds between settle passes. */
  JOINER_SETTLE_INTERVAL_MS: z.coerce.number().int().positive().default(1_000),
  /** Rows are joined once this old (ms), so inserts still committing are never skipped. */
  JOINER_VISIBILITY_LAG_MS: z.coerce.number().int().min(0).default(2_000),
  /** Loaded cost of an hour of human review or rework (USD, decimal); unset: no human cost. */
  JOINER_HUMAN_COST_PER_HOUR_USD: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return null;
      const parsed = parseDecimal(value);
      if (parsed.ok) return decimalToNanos(parsed.value);
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    }),
});

export type JoinerConfig = z.infer<typeof joinerEnv>;

export function loadJoinerConfig(env: Record<string, string | undefined> = process.env): JoinerConfig {
  return parseEnv(joinerEnv, env);
}
