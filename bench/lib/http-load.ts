import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '@tokenledger/infra/local';
import type { LoadMessage, LoadRequest, LoadResult } from './load-client.js';

export type { LoadRequest, LoadResult };

export interface HttpLoadResult extends LoadResult {
  /** CPU this process used in the same window, in cores: the server under test runs in it. */
  serverCpuCores: number;
}

const clientFile = fileURLToPath(new URL('./load-client.ts', import.meta.url));

/** Runs the HTTP load generator in a child Node process (TypeScript through tsx) and returns its counts. */
export function runHttpLoad(request: LoadRequest): Promise<HttpLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(clientFile, [], { cwd: repoRoot, execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    let windowCpu: NodeJS.CpuUsage | undefined;
    let serverCpuSeconds = 0;
    let outcome: LoadMessage | undefined;
    child.on('message', (message: LoadMessage) => {
      if (message.kind !== 'window') outcome = message;
      else if (message.edge === 'open') windowCpu = process.cpuUsage();
      else {
        const used = process.cpuUsage(windowCpu);
        serverCpuSeconds = (used.user + used.system) / 1e6;
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (outcome?.kind === 'result') resolve({ ...outcome.result, serverCpuCores: serverCpuSeconds / request.seconds });
      else reject(new Error(`load client failed (exit ${code}): ${outcome?.kind === 'failed' ? outcome.error : 'no result'}`));
    });
    child.send(request);
  });
}
