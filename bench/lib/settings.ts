import { z } from 'zod';
import { parseEnv } from '@tokenledger/infra';

/** "1" / "true" switch a flag on, "0" / "false" (or unset) off. */
const flag = z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true');

/** Knobs of every benchmark, parsed once from the environment. */
export const benchEnv = z.object({
  /** Seconds each timed HTTP load phase runs, after a short warm-up; unset: 15 (ingest), 60 (e2e). */
  BENCH_SECONDS: z.coerce.number().positive().optional(),
  /** Concurrent HTTP requests; unset: 32, 16 and 8 for batches of 1, 100 and 1,000 events. */
  BENCH_CONCURRENCY: z.coerce.number().int().positive().optional(),
  /** Usage events preloaded on the usage topic for the attributor benchmark. */
  BENCH_EVENTS: z.coerce.number().int().positive().default(200_000),
  /** Usage events the replay benchmark rebuilds: the figure is for five million (about 25 min here). */
  BENCH_REPLAY_EVENTS: z.coerce.number().int().positive().default(5_000_000),
  /** Offered usage events per second of the e2e benchmark. */
  BENCH_RATE: z.coerce.number().positive().default(5_000),
  /** Events per request of the e2e and sustained benchmarks. */
  BENCH_BATCH: z.coerce.number().int().positive().default(1_000),
  /** Offered rates (events/s, comma-separated) the sustained benchmark steps through. */
  BENCH_RATES: z.string().regex(/^\d+(,\d+)*$/, 'must be comma-separated whole numbers').default('1000,2000,4000,8000')
    .transform((v) => v.split(',').map(Number)),
  /** Seconds of each sustained step. */
  BENCH_STEP_SECONDS: z.coerce.number().positive().default(20),
  /** Most seconds to wait, after a step's sending, for its last batches to become visible. */
  BENCH_DRAIN_SECONDS: z.coerce.number().positive().default(60),
  /** Usage facts the api benchmark generates. */
  BENCH_FACTS: z.coerce.number().int().positive().default(10_000_000),
  /** Outcome facts the api benchmark generates (at most one per run; runs are facts / 7). */
  BENCH_OUTCOMES: z.coerce.number().int().positive().default(1_000_000),
  /** Timed requests per endpoint in the api benchmark, after warm-up. */
  BENCH_REQUESTS: z.coerce.number().int().positive().default(50),
  /** Most seconds of timed requests per endpoint in the api benchmark (at least 5 requests each). */
  BENCH_ENDPOINT_SECONDS: z.coerce.number().positive().default(60),
  /** Side-by-side (bare decode, attributor) pairs run by the attributor benchmark. */
  BENCH_PAIRS: z.coerce.number().int().positive().default(2),
  /** Ingest encoder thread counts (comma-separated) the ingest benchmark runs side by side; unset: INGEST_ENCODER_THREADS alone. */
  BENCH_ENCODER_THREADS: z.string().regex(/^\d+(,\d+)*$/, 'must be comma-separated whole numbers').optional()
    .transform((v) => v?.split(',').map(Number)),
  /** Adds a CPU-profiled run after the measured ones and prints where the time went. */
  BENCH_PROFILE: flag,
  /** Keeps the broker, registry and ClickHouse data under bench/out/ after the run. */
  BENCH_KEEP_DATA: flag,
  /** Log level of the services under test. */
  BENCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('warn'),
});

export type BenchSettings = z.infer<typeof benchEnv>;

/** BENCH_SECONDS, or the benchmark's own default. */
export function benchSeconds(settings: BenchSettings, fallback: number): number {
  return settings.BENCH_SECONDS ?? fallback;
}

export function loadBenchSettings(env: Record<string, string | undefined> = process.env): BenchSettings {
  return parseEnv(benchEnv, env);
}
