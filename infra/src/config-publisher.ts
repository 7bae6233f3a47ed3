import type { Kafka } from 'kafkajs';
import { createIdempotentProducer } from './kafka.js';
import { configEventAvro, configEventKey, topics, type ConfigEvent } from '@tokenledger/schemas';
import { registerAvroSchemas, valueSubject, type SchemaRegistry } from './registry.js';

/**
 * Publishes configuration changes (already validated by the caller) to the config topic and
 * returns their offsets: each change's version is its offset + 1.
 */
export async function publishConfigChanges(kafka: Kafka, registry: SchemaRegistry, changes: ConfigEvent[]): Promise<number[]> {
  const subject = valueSubject(topics.config);
  const schemaId = (await registerAvroSchemas(registry, [{ subject, schema: configEventAvro }])).get(subject)!;
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    const messages = await Promise.all(changes.map(async (c) => ({ key: configEventKey(c), value: await registry.encode(schemaId, c) })));
    const [result] = await producer.send({ topic: topics.config, acks: -1, messages });
    const base = Number(result?.baseOffset ?? 0);
    return changes.map((_, i) => base + i);
  } finally {
    await producer.disconnect();
  }
}
