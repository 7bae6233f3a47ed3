import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { clickHouseSettings, connectClickHouse, createLogger, parseEnv, platformEnv, type ClickHouseClient } from '@tokenledger/infra';
import './infra.js';

export { freePort } from '@tokenledger/infra/local';

/** Environment for services under test: the run's Kafka and registry, a private data dir. */
export function testEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  const infra = inject('infra');
  const dataDir = path.join(infra.runDir, name);
  mkdirSync(dataDir, { recursive: true });
  return {
    KAFKA_BROKERS: infra.brokers.join(','),
    SCHEMA_REGISTRY_URL: infra.registryUrl,
    TOKENLEDGER_DATA_DIR: dataDir,
    // On a ClickHouse server each test file gets its own database; chDB gets its own directory.
    CLICKHOUSE_DATABASE: `t_${name.replace(/[^A-Za-z0-9_]/g, '_')}`,
    ...(infra.clickhouseUrl ? { CLICKHOUSE_URL: infra.clickhouseUrl } : {}),
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export async function openClickHouse(env: Record<string, string>): Promise<ClickHouseClient> {
  const platform = parseEnv(platformEnv, env);
  return connectClickHouse(clickHouseSettings(platform, platform.TOKENLEDGER_DATA_DIR));
}

export const testLogger = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'warn');

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** Rows of a query against another test's embedded ClickHouse, read in a separate process. */
export async function queryDataDir<T>(env: Record<string, string>, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { repoRoot } = await import('@tokenledger/infra/local');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/src/query-worker.ts'), query, JSON.stringify(params)], {
    env: { ...process.env, ...env }, cwd: repoRoot, maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as T[];
}

/** This test file's ClickHouse, migrated, with the pipeline's topics in place. */
export async function openMigratedStore(env: Record<string, string>): Promise<ClickHouseClient> {
  const { createKafka, ensureTopics, migrate } = await import('@tokenledger/infra');
  const { topicSpecs } = await import('@tokenledger/schemas');
  const clickhouse = await openClickHouse(env);
  await migrate(clickhouse, {}, testLogger);
  const admin = createKafka(env.KAFKA_BROKERS!.split(','), 'test-setup', testLogger).admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
  return clickhouse;
}
