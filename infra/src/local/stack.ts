import path from 'node:path';
import { ensureKafkaJars, startLocalKafka } from './kafka.js';
import { ensureSchemaRegistry, startLocalSchemaRegistry } from './schema-registry.js';
import type { Log } from './process.js';

export interface LocalStackOptions {
  dataDir: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  registryPort: number;
  log: Log;
}

export interface LocalStack {
  brokers: string[];
  registryUrl: string;
  stop(): Promise<void>;
}

/** Kafka and the schema registry, each a child JVM of this process, stopped together. */
export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const dataDir = path.resolve(o.dataDir);
  // Downloads one after the other (Maven's local repository is not safe for parallel writers).
  await ensureKafkaJars(o.log);
  await ensureSchemaRegistry(o.log);
  // Both JVMs start in parallel: together about as long as the slower one.
  const [kafka, registry] = await Promise.allSettled([
    startLocalKafka({ dataDir, port: o.kafkaPort, controllerPort: o.kafkaControllerPort, log: o.log }),
    startLocalSchemaRegistry({ dataDir, port: o.registryPort, log: o.log }),
  ]);
  if (kafka.status === 'rejected' || registry.status === 'rejected') {
    const stops = [kafka, registry].flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop()] : []));
    await Promise.all(stops);
    throw kafka.status === 'rejected' ? kafka.reason : (registry as PromiseRejectedResult).reason;
  }
  return {
    brokers: kafka.value.brokers,
    registryUrl: registry.value.url,
    async stop() {
      await Promise.all([registry.value.stop(), kafka.value.stop()]);
    },
  };
}
