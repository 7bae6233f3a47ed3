import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '@tokenledger/infra/local';
import type { LoadMessage, LoadRequest, LoadResult } from './load-client.js';

export type { LoadRequest, LoadResult };

export interface HttpLoadResult extends LoadResult {
  /** CPU this process used in the same window, in cores: the server under test runs in it. */
  serverCpuCores: number;
}

/** What a load client sends its parent: progress messages, then one result or failure. */
type ChildMessage<P, R> = P | { kind: 'result'; result: R } | { kind: 'failed'; error: string };

/**
 * Runs a load client (TypeScript through tsx) in a child Node process so that generating load
 * does not share the event loop of the services under test: sends it `request`, passes its
 * progress messages to `onProgress`, and resolves with its result. Messages are structured
 * clones (`serialization: 'advanced'`), so Infinity and the like survive.
 */
export function runLoadClient<Req, P extends { kind: string }, R>(
  file: string, request: Req, onProgress: (message: P) => void,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(file, [], { cwd: repoRoot, execArgv: ['--import', 'tsx'], stdio: 'inherit', serialization: 'advanced' });
    let outcome: { kind: 'result'; result: R } | { kind: 'failed'; error: string } | undefined;
    child.on('message', (message: ChildMessage<P, R>) => {
      if (message.kind === 'result' || message.kind === 'failed') outcome = message as typeof outcome;
      else onProgress(message as P);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (outcome?.kind === 'result') resolve(outcome.result);
      else reject(new Error(`load client failed (exit ${code}): ${outcome?.kind === 'failed' ? outcome.error : 'no result'}`));
    });
    child.send(request as object);
  });
}

const clientFile = fileURLToPath(new URL('./load-client.ts', import.meta.url));

/** Runs the HTTP load generator in a child Node process and returns its counts. */
export async function runHttpLoad(request: LoadRequest): Promise<HttpLoadResult> {
  let windowCpu: NodeJS.CpuUsage | undefined;
  let serverCpuSeconds = 0;
  const result = await runLoadClient<LoadRequest, Extract<LoadMessage, { kind: 'window' }>, LoadResult>(clientFile, request, (message) => {
    if (message.edge === 'open') windowCpu = process.cpuUsage();
    else {
      const used = process.cpuUsage(windowCpu);
      serverCpuSeconds = (used.user + used.system) / 1e6;
    }
  });
  return { ...result, serverCpuCores: serverCpuSeconds / request.seconds };
}
