import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaLibsDir, repoRoot } from '@tokenledger/infra/local';
import type { BenchReport, Figure } from './report.js';
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

Written by \`npm run bench\` (bench/run.ts): each benchmark's section is replaced by its latest
run, and the summary on top gathers every section's headline figures. The machines are shared
and noisy, so compare the ratios measured side by side in one run, not absolute rates across runs.
`;

const begin = (name: string) => `<!-- bench:${name}:begin -->`;
const end = (name: string) => `<!-- bench:${name}:end -->`;
const SUMMARY = 'summary';
/** Each section keeps its figures machine-readable, so the summary can be rebuilt from the file. */
const FIGURES = /<!-- bench:figures (.*) -->/;

interface SavedFigures {
  benchmark: string;
  measuredAt: string;
  figures: Figure[];
}

function replaceSection(current: string, name: string, body: string, where: 'top' | 'bottom'): string {
  const section = `${begin(name)}\n${body}\n${end(name)}`;
  const start = current.indexOf(begin(name));
  const stop = current.indexOf(end(name));
  if (start >= 0 && stop > start) return current.slice(0, start) + section + current.slice(stop + end(name).length);
  if (where === 'bottom') return `${current.trimEnd()}\n\n${section}\n`;
  const headerEnd = current.indexOf('\n<!-- bench:');
  return headerEnd < 0 ? `${current.trimEnd()}\n\n${section}\n` : `${current.slice(0, headerEnd).trimEnd()}\n\n${section}\n${current.slice(headerEnd)}`;
}

/** Every section's saved figures, in file order. */
function savedFigures(text: string): SavedFigures[] {
  const saved: SavedFigures[] = [];
  for (const match of text.matchAll(/<!-- bench:([a-z0-9-]+):begin -->([\s\S]*?)<!-- bench:\1:end -->/g)) {
    const figures = FIGURES.exec(match[2]!);
    if (!figures) continue;
    saved.push(JSON.parse(figures[1]!) as SavedFigures);
  }
  return saved;
}

const metText = (met: boolean | undefined) => (met === undefined ? '–' : met ? 'met' : '**missed**');

/** The one table: each benchmark's headline figures beside their targets, with when each was measured. */
export function renderSummary(saved: SavedFigures[], machine: Machine): string {
  return [
    '## summary: every figure beside its target',
    '',
    `Latest run ${renderMachine(machine)}. Each row is from its benchmark's latest run (its section below has the details and the configuration).`,
    '',
    renderTable({
      headers: ['benchmark', 'figure', 'measured', 'target', 'met', 'measured at'],
      rows: saved.flatMap((s) => s.figures.map((f) => [s.benchmark, f.figure, f.measured, f.target, metText(f.met), s.measuredAt])),
      align: ['left', 'left', 'right', 'left', 'left', 'left'],
    }),
  ].join('\n');
}

/**
 * Replaces the benchmark's section of bench/RESULTS.md (or appends it), leaving the others, and
 * rebuilds the summary on top. Returns the summary.
 */
export function saveReport(report: BenchReport, machine: Machine, file = resultsFile): string {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const figures: SavedFigures = { benchmark: report.name, measuredAt: machine.date, figures: report.figures };
  const withSection = replaceSection(current, report.name, `${renderReport(report, machine)}\n<!-- bench:figures ${JSON.stringify(figures)} -->`, 'bottom');
  const summary = renderSummary(savedFigures(withSection), machine);
  writeFileSync(file, replaceSection(withSection, SUMMARY, summary, 'top'));
  return summary;
}
