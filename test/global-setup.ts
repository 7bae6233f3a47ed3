import { mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalStack, repoRoot } from '@tokenledger/infra/local';
import type { TestInfra } from './src/infra.js';
import { freePort } from '@tokenledger/infra/local';


function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts real infrastructure once per test run: testcontainers where a Docker engine runs,
 * else the project's local launchers (a Kafka broker and Apicurio Registry as child JVMs).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = path.join(repoRoot, 'test/.artifacts', `run-${Date.now()}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  const log = (m: string) => process.stderr.write(`[infra] ${m}\n`);

  if (dockerAvailable() && process.env.TOKENLEDGER_TEST_LOCAL !== 'true') {
    const { startContainers } = await import('./containers.js');
    const containers = await startContainers(log);
    project.provide('infra', { ...containers.infra, runDir } satisfies TestInfra);
    return async () => {
      await containers.stop();
      rmSync(runDir, { recursive: true, force: true });
    };
  }

  const [kafkaPort, controllerPort, registryPort] = [await freePort(), await freePort(), await freePort()];
  const stack = await startLocalStack({
    dataDir: path.join(runDir, 'stack'), kafkaPort, kafkaControllerPort: controllerPort, registryPort, log,
  });
  project.provide('infra', { brokers: stack.brokers, registryUrl: stack.registryUrl, runDir } satisfies TestInfra);
  return async () => {
    await stack.stop();
    rmSync(runDir, { recursive: true, force: true });
  };
}
