import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import {
  clickHouseSettings, connectClickHouse, createKafka, createLogger, ensureTopics, migrate, parseEnv, platformEnv,
  SchemaRegistry, type ClickHouseClient, type Logger,
} from '@tokenledger/infra';
import { freePort, repoRoot, startLocalStack } from '@tokenledger/infra/local';
import { topicSpecs } from '@tokenledger/schemas';
import { progress } from './report.js';
import type { BenchSettings } from './settings.js';

/** Partitions of every tokenledger topic in the benchmarks (and of the producer-perf topic). */
export const PARTITIONS = 6;

export const outDir = path.join(repoRoot, 'bench/out');

/** A private broker, registry and data directory for one benchmark. */
export interface BenchStack {
  /** Environment for the services under test: this stack's Kafka, registry and data dir. */
  env: Record<string, string>;
  brokers: string[];
  dataDir: string;
  kafka: Kafka;
  registry: SchemaRegistry;
  logger: Logger;
  /** Embedded ClickHouse in this stack's data directory, migrated. One per process. */
  openClickHouse(): Promise<ClickHouseClient>;
}

/** A port free at the time of asking (the OS picks it). */
export { freePort };

/**
 * Starts Kafka and the schema registry (child JVMs) in a fresh directory under bench/out/,
 * creates the topics, runs `body`, then stops the JVMs whatever happened, Ctrl-C included,
 * and removes the data unless BENCH_KEEP_DATA is set.
 */
export async function withStack<T>(name: string, settings: BenchSettings, body: (stack: BenchStack) => Promise<T>): Promise<T> {
  const dataDir = path.join(outDir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dataDir, { recursive: true });
  const [kafkaPort, kafkaControllerPort, registryPort] = [await freePort(), await freePort(), await freePort()];
  progress(`${name}: starting Kafka and the schema registry in ${path.relative(repoRoot, dataDir)}`);
  const local = await startLocalStack({ dataDir, kafkaPort, kafkaControllerPort, registryPort, log: progress });

  let clickhouse: ClickHouseClient | undefined;
  const stop = async (): Promise<void> => {
    await clickhouse?.close();
    await local.stop();
    if (!settings.BENCH_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  };
  const interrupted = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping Kafka and the schema registry`);
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    const env = {
      KAFKA_BROKERS: local.brokers.join(','),
      SCHEMA_REGISTRY_URL: local.registryUrl,
      TOKENLEDGER_DATA_DIR: dataDir,
      LOG_LEVEL: settings.BENCH_LOG_LEVEL,
    };
    const logger = createLogger(`bench-${name}`, settings.BENCH_LOG_LEVEL);
    const kafka = createKafka(local.brokers, `bench-${name}`, logger);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(PARTITIONS));
    await admin.disconnect();
    return await body({
      env,
      brokers: local.brokers,
      dataDir,
      kafka,
      registry: new SchemaRegistry({ host: local.registryUrl }),
      logger,
      async openClickHouse() {
        const platform = parseEnv(platformEnv, env);
        clickhouse = await connectClickHouse(clickHouseSettings(platform, dataDir));
        await migrate(clickhouse, {}, logger);
        return clickhouse;
      },
    });
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    progress(`${name}: stopping Kafka and the schema registry`);
    await stop();
  }
}
