import { Kafka, logLevel, Partitioners, type Admin, type ICustomPartitioner, type ITopicConfig, type LogEntry, type Producer } from 'kafkajs';
import { z } from 'zod';
import { envList } from './env.js';
import type { Logger } from './logger.js';

export const kafkaEnv = z.object({
  /** Comma-separated bootstrap brokers. */
  KAFKA_BROKERS: envList.default(['localhost:9092']),
  /** Base URL of a Confluent-compatible schema registry. */
  SCHEMA_REGISTRY_URL: z.url().default('http://localhost:8081'),
});

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose own logs go through pino (warnings and errors only). */
export function createKafka(brokers: string[], clientId: string, log: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    // kafkajs' INFO is chatty (every join and commit): shown only when the service logs at debug.
    logLevel: log.isLevelEnabled('debug') ? logLevel.INFO : logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8 },
    logCreator: () => ({ namespace, level, log: entry }: LogEntry) => {
      const { message, ...rest } = entry;
      log[levelNames[level] ?? 'info']({ event: 'kafkajs', namespace, ...rest }, message);
    },
  });
}

/** Creates missing topics (idempotent); existing topics are left as they are. */
export async function ensureTopics(admin: Admin, specs: ITopicConfig[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (error) {
    // Another service created it first: fine, as long as it now exists.
    const now = new Set(await admin.listTopics());
    if (missing.some((s) => !now.has(s.topic))) throw error;
  }
}

/** Fails start-up when a topic a component writes to is missing. */
export async function assertTopicsExist(admin: Admin, names: string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = names.filter((n) => !existing.has(n));
  if (missing.length) throw new Error(`Kafka topics missing: ${missing.join(', ')}`);
}

/**
 * An idempotent producer (acks=all on every send). It retries without limit, as kafkajs
 * requires for idempotence; callers that must answer in time (ingest) bound the wait themselves.
 * A custom partitioner must place keyed messages where the default one does.
 */
export function createIdempotentProducer(
  kafka: Kafka, maxInFlightRequests = 1, createPartitioner: ICustomPartitioner = Partitioners.DefaultPartitioner,
): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests,
    createPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
}
