import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '@tokenledger/infra/local';
import type { FaultResult } from './support.js';
import './results.js';

/**
 * Global setup of the fault suite: each fault test leaves its result in a directory; at the
 * end of the run this prints them as one table and writes it to test/.artifacts/faults.md.
 */
export default function setup(project: TestProject): () => void {
  const artifacts = path.join(repoRoot, 'test/.artifacts');
  const dir = path.join(artifacts, `faults-${Date.now()}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  project.provide('faultResultsDir', dir);
  const started = Date.now();
  return () => {
    const results = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as FaultResult)
      .sort((a, b) => a.fault.localeCompare(b.fault, 'en', { numeric: true }));
    rmSync(dir, { recursive: true, force: true });
    const header = '| fault | sent | acknowledged | counted | lost | doubled | money | seconds | note |\n|---|--:|--:|--:|--:|--:|---|--:|---|';
    const rows = results.map((r) =>
      `| ${r.fault} | ${r.sent} | ${r.acknowledged} | ${r.counted} | ${r.lost} | ${r.doubled} | ${r.exact ? 'exact' : '**not exact**'} | ${r.seconds.toFixed(1)} | ${r.note} |`);
    const table = [
      '# Fault suite',
      '',
      `Run ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s in all (\`npm run test:faults\`).`,
      '"counted": events (or outcomes) with exactly one fact; "doubled": facts beyond one per event, or for events never sent;',
      '"money": the facts\' total cost equals, to the nano-dollar, the cost of what was acknowledged.',
      '',
      header,
      ...rows,
      '',
    ].join('\n');
    writeFileSync(path.join(artifacts, 'faults.md'), table);
    process.stdout.write(`\n${table}\n(written to test/.artifacts/faults.md)\n`);
  };
}
