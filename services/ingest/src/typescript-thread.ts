import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

// Threads compile their TypeScript through tsx's require hook (its ESM hooks crash workers at exit on Node 20).
const tsxRegister = createRequire(import.meta.url).resolve('tsx/cjs/api');

/** A worker thread running the TypeScript module at `file` (a URL relative to the caller's module). */
export function startTypeScriptThread(file: URL, workerData: unknown): Worker {
  const bootstrap = `require(${JSON.stringify(tsxRegister)}).register(); require(${JSON.stringify(fileURLToPath(file))});`;
  return new Worker(bootstrap, { eval: true, execArgv: [], workerData });
}
