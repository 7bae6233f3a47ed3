/**
 * The batch consumer on a real broker and registry, when a batch outlives the consumer's
 * session (a machine so loaded that the event loop stalls): the group moves on, the commit is
 * refused, and the consumer must neither stop for good nor skip the batch.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchConsumer, createKafka, createMetricsRegistry, registerAvroSchemas, SchemaRegistry, valueSubject } from '@tokenledger/infra';
import { eventually, testEnv, testLogger } from './src/harness.js';

const env = testEnv('consumer');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'consumer-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const topic = `consumer-test-${randomUUID().slice(0, 8)}`;
const pingAvro = { type: 'record', name: 'Ping', namespace: 'tokenledger.test', fields: [{ name: 'n', type: 'int' }] };
/** Longer than the consumer's 15 s session. */
const STALL_MS = 18_000;

let schemaId = 0;
let consumer: BatchConsumer<{ n: number }> | undefined;

async function send(numbers: number[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  const messages = await Promise.all(numbers.map(async (n) => ({ key: String(n), value: await registry.encode(schemaId, { n }) })));
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const subject = valueSubject(topic);
  schemaId = (await registerAvroSchemas(registry, [{ subject, schema: pingAvro }])).get(subject)!;
});

afterAll(async () => {
  await consumer?.stop();
});

describe('a batch that outlives the session', () => {
  it('is redone after the group moves on, and consuming goes on', async () => {
    const handled: number[] = [];
    let stalled = false;
    consumer = new BatchConsumer<{ n: number }>({
      name: 'stall-test',
      kafka,
      groupId: `stall-${randomUUID()}`,
      topic,
      registry,
      readerSchema: pingAvro,
      contract: (value) => ({ ok: true, value: value as { n: number } }),
      async handle(messages) {
        if (!stalled) {
          stalled = true;
          // Synchronous, as a CPU-bound write on a saturated machine: no timer, no heartbeat runs.
          const until = Date.now() + STALL_MS;
          while (Date.now() < until) { /* stall */ }
        }
        handled.push(...messages.map((m) => m.value.n));
      },
      log: testLogger,
      metrics: createMetricsRegistry('consumer-test'),
    });
    await send([0, 1, 2, 3, 4]);
    await consumer.start();
    // The first batch is handled once during the stall, then again by the member that rejoins:
    // its commit was refused, so nothing is skipped.
    await eventually(async () => (handled.filter((n) => n === 0).length >= 2 ? true : undefined), 90_000, 'the stalled batch redone');
    await send([5, 6, 7]);
    await eventually(async () => ([5, 6, 7].every((n) => handled.includes(n)) ? true : undefined), 60_000, 'later messages consumed');
    expect(new Set(handled)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(consumer.isHealthy).toBe(true);
  }, 180_000);
});
