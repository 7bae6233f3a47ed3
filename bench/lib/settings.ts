import { z } from 'zod';
import { parseEnv } from '@tokenledger/infra';

/** "1" / "true" switch a flag on, "0" / "false" (or unset) off. */
const flag = z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true');

/** Knobs of every benchmark, parsed once from the environment. */
export const benchEnv = z.object({
  /** Seconds each timed HTTP load phase runs (ingest), after a short warm-up. */
  BENCH_SECONDS: z.coerce.number().positive().default(15),
  /** Concurrent HTTP requests; unset: 32, 16 and 8 for batches of 1, 100 and 1,000 events. */
  BENCH_CONCURRENCY: z.coerce.number().int().positive().optional(),
  /** Usage events preloaded on the usage topic for the attributor benchmark. */
  BENCH_EVENTS: z.coerce.number().int().positive().default(200_000),
  /** Side-by-side (bare decode, attributor) pairs run by the attributor benchmark. */
  BENCH_PAIRS: z.coerce.number().int().positive().default(2),
  /** Adds a CPU-profiled run after the measured ones and prints where the time went. */
  BENCH_PROFILE: flag,
  /** Keeps the broker, registry and ClickHouse data under bench/out/ after the run. */
  BENCH_KEEP_DATA: flag,
  /** Log level of the services under test. */
  BENCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('warn'),
});

export type BenchSettings = z.infer<typeof benchEnv>;

export function loadBenchSettings(env: Record<string, string | undefined> = process.env): BenchSettings {
  return parseEnv(benchEnv, env);
}
