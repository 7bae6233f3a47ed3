/**
 * CPU profiles of a benchmark phase, taken in-process through the inspector: the same
 * `.cpuprofile` that `node --cpu-prof` writes (open it in Chrome DevTools or speedscope), but
 * limited to the phase that is measured, and summarized by self time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import type { Profiler } from 'node:inspector';
import path from 'node:path';
import { repoRoot } from '@tokenledger/infra/local';
import { outDir } from './stack.js';
import { renderTable } from './table.js';

type CallFrame = Profiler.ProfileNode['callFrame'];

export const profilesDir = path.join(outDir, 'profiles');

export interface Profiled<T> {
  result: T;
  file: string;
  profile: Profiler.Profile;
}

/** Runs `body` under the V8 sampling profiler (main thread) and saves the profile. */
export async function profiled<T>(name: string, body: () => Promise<T>): Promise<Profiled<T>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 }); // µs
  await session.post('Profiler.start');
  let result: T;
  let profile: Profiler.Profile;
  try {
    result = await body();
  } finally {
    ({ profile } = await session.post('Profiler.stop'));
    session.disconnect();
  }
  mkdirSync(profilesDir, { recursive: true });
  const file = path.join(profilesDir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  return { result, file, profile };
}

/** Where a function lives: a package, a workspace folder, Node itself, or V8's pseudo-frames. */
export function areaOf(frame: CallFrame): string {
  const url = frame.url;
  // V8's pseudo-frames, e.g. (garbage collector); else built-ins and generated code (avsc's codecs).
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(V8 built-ins, generated code)';
  if (url.startsWith('node:')) return 'node (built-ins)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scopeOrName, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scopeOrName?.startsWith('@') ? `${scopeOrName}/${name}` : (scopeOrName ?? url);
  }
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const relative = path.relative(repoRoot, file);
  if (relative.startsWith('..')) return file;
  const [top, second] = relative.split(path.sep);
  return top === 'services' ? `services/${second}` : (top ?? relative);
}

/**
 * `file:line` of a frame. tsx compiles TypeScript to one line per module, so positions in the
 * repository's own files are mapped back through their source maps to the TypeScript line.
 */
function location(frame: CallFrame): string {
  if (frame.url === '') return '';
  const file = frame.url.startsWith('file://') ? new URL(frame.url).pathname : frame.url;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) return `${file.slice(modules + '/node_modules/'.length)}:${frame.lineNumber + 1}`;
  const entry: { originalLine?: number } | undefined = frame.url.startsWith('file://')
    ? findSourceMap(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber)
    : undefined;
  const line = entry?.originalLine ?? frame.lineNumber;
  return `${path.relative(repoRoot, file)}:${line + 1}`;
}

export interface SelfTime {
  name: string;
  where: string;
  area: string;
  ms: number;
}

/** A step of the pipeline whose inclusive time is worth seeing, named by its function. */
export interface Stage {
  label: string;
  functionName: string;
  /** Part of the script's URL, to tell same-named functions apart. */
  file?: string;
}

export interface ProfileSummary {
  totalMs: number;
  /** Main thread waiting (for Kafka, ClickHouse's threads, the network): not the bottleneck when large. */
  idleMs: number;
  functions: SelfTime[];
  areas: { area: string; ms: number }[];
  /** Inclusive time of each stage: samples with the stage's function anywhere on their stack. */
  stages: { label: string; ms: number }[];
}

/** Self time per function and per area, and inclusive time per stage: what the main thread spent its samples on. */
export function summarize(profile: Profiler.Profile, stages: Stage[] = []): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const selfById = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const isStage = (frame: CallFrame, stage: Stage) => frame.functionName === stage.functionName && (!stage.file || frame.url.includes(stage.file));
  const onStack = (id: number, stage: Stage): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) if (isStage(nodes.get(at)!.callFrame, stage)) return true;
    return false;
  };
  // The profiler's own work (serializing the profile when it stops) is not the benchmark's.
  const profiler: Stage = { label: 'profiler', functionName: 'post', file: 'node:inspector' };
  samples.forEach((id, i) => {
    if (!onStack(id, profiler)) selfById.set(id, (selfById.get(id) ?? 0) + (deltas[i] ?? 0) / 1000);
  });

  const byFunction = new Map<string, SelfTime>();
  const byArea = new Map<string, number>();
  const stageMs = stages.map(() => 0);
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of selfById) {
    const frame = nodes.get(id)!.callFrame;
    totalMs += ms;
    if (frame.functionName === '(idle)') idleMs += ms;
    const name = frame.functionName || '(anonymous)';
    const where = location(frame);
    const area = areaOf(frame);
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, area, ms: 0 };
    entry.ms += ms;
    byFunction.set(key, entry);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
    stages.forEach((stage, s) => {
      if (onStack(id, stage)) stageMs[s]! += ms;
    });
  }
  return {
    totalMs,
    idleMs,
    functions: [...byFunction.values()].sort((a, b) => b.ms - a.ms),
    areas: [...byArea].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms),
    stages: stages.map((stage, s) => ({ label: stage.label, ms: stageMs[s]! })),
  };
}

/** The summary as Markdown: stages, areas, then the top functions by self time, as shares of busy time. */
export function renderProfile(title: string, file: string, summary: ProfileSummary, top = 25): string {
  const busy = summary.totalMs - summary.idleMs;
  const share = (ms: number) => `${((100 * ms) / busy).toFixed(1)}%`;
  const areas = summary.areas.filter((a) => a.area !== '(idle)').slice(0, 12);
  const functions = summary.functions.filter((f) => f.name !== '(idle)').slice(0, top);
  const stages = summary.stages.length === 0 ? [] : [
    'Stages, inclusive: samples with the function on the stack. An async function resumed after an `await` is on the stack again, but not its caller, so stages do not nest across `await`s.',
    '',
    renderTable({ headers: ['stage', 'ms', 'share'], rows: summary.stages.map((s) => [s.label, s.ms.toFixed(0), share(s.ms)]) }),
    '',
  ];
  return [
    `### Profile: ${title}`,
    '',
    `${path.relative(repoRoot, file)}: ${(summary.totalMs / 1000).toFixed(1)} s sampled on the main thread, ` +
      `${((100 * summary.idleMs) / summary.totalMs).toFixed(0)}% idle; shares below are of the ${(busy / 1000).toFixed(1)} s busy.`,
    '',
    ...stages,
    renderTable({ headers: ['area', 'self ms', 'share'], rows: areas.map((a) => [a.area, a.ms.toFixed(0), share(a.ms)]) }),
    '',
    renderTable({
      headers: ['function', 'where', 'self ms', 'share'],
      align: ['left', 'left', 'right', 'right'],
      rows: functions.map((f) => [f.name, f.where, f.ms.toFixed(0), share(f.ms)]),
    }),
  ].join('\n');
}
