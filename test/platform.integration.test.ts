import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { createKafka, ensureTopics, loadMigrations, migrate, type ClickHouseClient } from '@tokenledger/infra';
import { topics, topicSpecs } from '@tokenledger/schemas';
import { startIngest, loadIngestConfig } from '@tokenledger/ingest';
import { startAttributor, loadAttributorConfig } from '@tokenledger/attributor';
import { startJoiner, loadJoinerConfig } from '@tokenledger/outcome-joiner';
import { startApi, loadApiConfig } from '@tokenledger/api';
import { keyRingFor } from '@tokenledger/infra';
import { eventually, freePort, openClickHouse, testEnv, testLogger } from './src/harness.js';

describe('platform: real Kafka, schema registry and ClickHouse', () => {
  const env = testEnv('platform');
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    clickhouse = await openClickHouse(env);
  });
  afterAll(async () => {
    await clickhouse.close();
  });

  it('creates the topics, with the config topic compacted', async () => {
    const admin = createKafka(env.KAFKA_BROKERS!.split(','), 'platform-test', testLogger).admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(3));
    await ensureTopics(admin, topicSpecs(3)); // idempotent
    const listed = await admin.listTopics();
    expect(listed).toEqual(expect.arrayContaining(Object.values(topics)));
    const configs = await admin.describeConfigs({
      resources: [{ type: 2, name: topics.config, configNames: ['cleanup.policy'] }],
      includeSynonyms: false,
    });
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('compact');
    await admin.disconnect();
  });

  it('round-trips an Avro message in Confluent wire format through Kafka and the registry', async () => {
    const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
    const schema = { type: 'record', name: 'Ping', namespace: 'dev.tokenledger.test', fields: [{ name: 'n', type: 'long' }] };
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: 'platform-ping-value' });
    const again = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: 'platform-ping-value' });
    expect(again.id).toBe(id); // same schema, same id

    const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'platform-test', testLogger);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: 'platform-ping', numPartitions: 1 }]);
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const encoded = await registry.encode(id, { n: 42 });
    expect(encoded[0]).toBe(0); // magic byte
    expect(encoded.readUInt32BE(1)).toBe(id); // schema id
    await producer.send({ topic: 'platform-ping', acks: -1, messages: [{ key: 'k', value: encoded }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'platform-ping-reader' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'platform-ping', fromBeginning: true });
    const received: unknown[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void received.push(await registry.decode(message.value!)) });
    await eventually(async () => (received.length > 0 ? received : undefined), 30_000, 'message consumed');
    await consumer.disconnect();
    expect(received[0]).toEqual({ n: 42 });
  });

  it('applies every migration once; a second run applies none', async () => {
    const all = loadMigrations(undefined);
    expect(all.length).toBeGreaterThan(0);
    await migrate(clickhouse, {}, testLogger);
    expect(await migrate(clickhouse, {}, testLogger)).toBe(0);
    const rows = await (await clickhouse.query({ query: 'SELECT version FROM schema_migrations FINAL ORDER BY version', format: 'JSONEachRow' })).json<{ version: number }>();
    expect(rows.map((r) => Number(r.version))).toEqual(all.map((m) => m.version));
  });

  it('starts every service; /healthz, /readyz and /metrics answer', async () => {
    const ports = { INGEST_PORT: await freePort(), ATTRIBUTOR_PORT: await freePort(), JOINER_PORT: await freePort(), API_PORT: await freePort() };
    const serviceEnv = { ...env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), INGEST_HOST: '127.0.0.1', ATTRIBUTOR_HOST: '127.0.0.1', JOINER_HOST: '127.0.0.1', API_HOST: '127.0.0.1' };
    const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
    const services = [
      await startAttributor(loadAttributorConfig(serviceEnv), { logger: testLogger, clickhouse, registry }),
      await startJoiner(loadJoinerConfig(serviceEnv), { logger: testLogger, clickhouse, registry }),
      await startApi(loadApiConfig(serviceEnv), { logger: testLogger, clickhouse, keys: keyRingFor(), registry }),
      await startIngest(loadIngestConfig(serviceEnv), { logger: testLogger, keys: keyRingFor(), registry }),
    ];
    try {
      for (const port of Object.values(ports)) {
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toContain('tokenledger_process_cpu_seconds_total');
      }
    } finally {
      for (const s of services.reverse()) await s.stop();
    }
  });
});
