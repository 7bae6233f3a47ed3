/**
 * `npm run bench` runs every benchmark; `npm run bench -- ingest attributor` the named ones.
 * Each prints its table and replaces its section of bench/RESULTS.md; at the end one summary table
 * of every headline figure beside its target is printed and kept on top of RESULTS.md.
 * Knobs: bench/lib/settings.ts.
 */
import { apiBenchmark } from './api.js';
import { attributorBenchmark } from './attributor.js';
import { e2eBenchmark, sustainedBenchmark } from './e2e.js';
import { ingestBenchmark } from './ingest.js';
import { joinerBenchmark } from './joiner.js';
import { replayBenchmark } from './replay.js';
import type { Benchmark } from './lib/report.js';
import { describeMachine, renderReport, resultsFile, saveReport } from './lib/results.js';
import { loadBenchSettings } from './lib/settings.js';

const benchmarks: readonly Benchmark[] = [
  ingestBenchmark, attributorBenchmark, joinerBenchmark, e2eBenchmark, sustainedBenchmark, replayBenchmark, apiBenchmark,
];

/** A mistake on the command line: its message is enough, no stack. */
class UsageError extends Error {
  override name = 'UsageError';
}

function usage(): string {
  return [
    'usage: npm run bench [-- <name>...]',
    ...benchmarks.map((b) => `  ${b.name.padEnd(12)} ${b.summary}`),
    'env: BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_EVENTS, BENCH_REPLAY_EVENTS, BENCH_PAIRS, BENCH_RATE, BENCH_BATCH, BENCH_RATES, BENCH_STEP_SECONDS,',
    '     BENCH_DRAIN_SECONDS, BENCH_FACTS, BENCH_OUTCOMES, BENCH_REQUESTS, BENCH_ENDPOINT_SECONDS,',
    '     BENCH_PROFILE=1, BENCH_KEEP_DATA=1, BENCH_LOG_LEVEL',
  ].join('\n');
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) return void console.log(usage());
  const unknown = args.filter((name) => !benchmarks.some((b) => b.name === name));
  if (unknown.length > 0) throw new UsageError(`unknown benchmark: ${unknown.join(', ')}\n${usage()}`);
  const selected = args.length === 0 ? benchmarks : benchmarks.filter((b) => args.includes(b.name));
  const settings = loadBenchSettings();
  let summary = '';
  for (const benchmark of selected) {
    const report = await benchmark.run(settings);
    const machine = describeMachine();
    console.log(`\n${renderReport(report, machine)}\n`);
    summary = saveReport(report, machine);
    console.log(`(saved to ${resultsFile})`);
  }
  console.log(`\n${summary}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
