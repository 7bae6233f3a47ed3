import type { BenchSettings } from './settings.js';
import type { Table } from './table.js';

/** What a benchmark measured, printed to stdout and kept in bench/RESULTS.md. */
export interface BenchReport {
  /** The benchmark's name, also the RESULTS.md section it replaces. */
  name: string;
  title: string;
  /** One line per setting that shaped the numbers. */
  configuration: string[];
  table: Table;
  /** The target and whether this run met it. */
  verdict: string;
  /** The headline figures, for the one summary table of every benchmark. */
  figures: Figure[];
  notes: string[];
  /** Where the time went, when BENCH_PROFILE was set. */
  profile?: string;
}

/** One headline figure: what was measured, beside the target. */
export interface Figure {
  figure: string;
  measured: string;
  /** The target from the issues; '–' where an issue sets none. */
  target: string;
  /** Undefined where there is no target. */
  met: boolean | undefined;
}

export interface Benchmark {
  name: string;
  /** One line for `npm run bench -- --help`. */
  summary: string;
  run(settings: BenchSettings): Promise<BenchReport>;
}

/** Progress goes to stderr, so stdout holds only the results. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
