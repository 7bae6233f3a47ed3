import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaLibsDir, repoRoot } from '@tokenledger/infra/local';
import type { BenchReport } from './report.js';
import { renderTable } from './table.js';

export const resultsFile = path.join(repoRoot, 'bench/RESULTS.md');

/** The machine a result was measured on: numbers mean little without it. */
export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  java: string;
  kafka: string;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    java: javaVersion(),
    kafka: kafkaVersion(),
  };
}

/** `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` on stderr. */
function javaVersion(): string {
  const { stdout, stderr } = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return `${stderr ?? ''}${stdout ?? ''}`.trim().split('\n')[0] || 'unknown';
}

/** The broker's version, from the name of its jar (kafka_2.13-4.3.1.jar). */
function kafkaVersion(): string {
  if (!existsSync(kafkaLibsDir)) return 'unknown';
  const jar = readdirSync(kafkaLibsDir).find((f) => /^kafka_2\.13-.+\.jar$/.test(f));
  return jar?.replace(/^kafka_2\.13-/, '').replace(/\.jar$/, '') ?? 'unknown';
}

export function renderMachine(m: Machine): string {
  return `${m.date} · ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB · Node ${m.node} · Java: ${m.java} · Kafka ${m.kafka}`;
}

/** A report as Markdown: title, machine, configuration, table, verdict, notes, profile. */
export function renderReport(report: BenchReport, machine: Machine): string {
  const parts = [
    `## ${report.name}: ${report.title}`,
    '',
    `Measured ${renderMachine(machine)}.`,
    '',
    ...report.configuration.map((line) => `- ${line}`),
    '',
    renderTable(report.table),
    '',
    `**${report.verdict}**`,
  ];
  if (report.notes.length > 0) parts.push('', ...report.notes.map((line) => `- ${line}`));
  if (report.profile) parts.push('', report.profile);
  return parts.join('\n');
}

const HEADER = `# Benchmark results

Written by \`npm run bench\` (bench/run.ts): each section is replaced by the latest run of its
benchmark. The machines are shared and noisy, so compare the ratios measured side by side in
one run, not absolute rates across runs.
`;

const begin = (name: string) => `<!-- bench:${name}:begin -->`;
const end = (name: string) => `<!-- bench:${name}:end -->`;

/** Replaces the benchmark's section of bench/RESULTS.md (or appends it), leaving the others. */
export function saveReport(report: BenchReport, machine: Machine, file = resultsFile): void {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const section = `${begin(report.name)}\n${renderReport(report, machine)}\n${end(report.name)}`;
  const start = current.indexOf(begin(report.name));
  const stop = current.indexOf(end(report.name));
  const next =
    start >= 0 && stop > start
      ? current.slice(0, start) + section + current.slice(stop + end(report.name).length)
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
