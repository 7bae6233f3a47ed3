/**
 * Faults 5, 6 and 7, on one pipeline in this process (ingest, two attributor instances in one
 * consumer group, the joiner) over one embedded ClickHouse:
 * 5. one attributor instance stopped mid-stream: its partitions move to the other (rebalance);
 * 6. a flood of duplicates and client retries, with and without client event ids;
 * 7. poison messages on the usage, outcomes and config topics.
 */
import { randomUUID } from 'node:crypto';
import avsc from 'avsc';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka, devKeys, devKeysEnv, ensureTopics, keyRingFor, migrate, parseEnv, publishConfigChanges, SchemaRegistry,
  type ClickHouseClient, type DevKeys,
} from '@tokenledger/infra';
import { configChange, outcomeEventAvro, topics, topicSpecs, usageEventAvro, type UsageEvent } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import { loadIngestConfig, startIngest, type IngestService } from '@tokenledger/ingest';
import { loadJoinerConfig, startJoiner, type JoinerService } from '@tokenledger/outcome-joiner';
import { eventually, freePort, openClickHouse, testEnv, testLogger } from '../src/harness.js';
import { acmePriceOverride, outcomeEvent, produce, usageEvent } from '../src/fleet.js';
import {
  expectedOutcomeCosts, fleetCall, metric, outcomesFor, report, seconds, settledTally, sleep, totalNano, usageFleet,
} from './support.js';

const env = testEnv('fault-stream');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'fault-stream', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const groupId = `fault-stream-${randomUUID()}`;
const tenantOf = (name: string): DevKeys => devKeys(parseEnv(devKeysEnv, { TOKENLEDGER_DEV_TENANT: `${name}-${randomUUID().slice(0, 8)}` }));
const rebalanceTenant = tenantOf('rebalance');
const dupTenant = tenantOf('dups');
const poisonTenant = tenantOf('poison');
let clickhouse: ClickHouseClient;
let ingest: IngestService;
let joiner: JoinerService;
const attributors: { service: AttributorService; url: string; stopped: boolean }[] = [];

async function startInstance(): Promise<void> {
  const port = await freePort();
  const service = await startAttributor(
    loadAttributorConfig({ ...env, ATTRIBUTOR_HOST: '127.0.0.1', ATTRIBUTOR_PORT: String(port), ATTRIBUTOR_GROUP_ID: groupId }),
    { logger: testLogger, clickhouse, registry },
  );
  attributors.push({ service, url: `http://127.0.0.1:${port}`, stopped: false });
}

beforeAll(async () => {
  clickhouse = await openClickHouse(env);
  await migrate(clickhouse, {}, testLogger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
  await publishConfigChanges(kafka, registry, [rebalanceTenant, dupTenant, poisonTenant].map((t) => acmePriceOverride(t.tenantId)));
  await Promise.all([startInstance(), startInstance()]);
  ingest = await startIngest(
    loadIngestConfig({ ...env, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(await freePort()) }),
    { logger: testLogger, keys: keyRingFor(rebalanceTenant, dupTenant, poisonTenant), registry },
  );
  joiner = await startJoiner(
    loadJoinerConfig({ ...env, JOINER_HOST: '127.0.0.1', JOINER_PORT: String(await freePort()), JOINER_GROUP_ID: `fault-stream-join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200', JOINER_SETTLE_INTERVAL_MS: '500' }),
    { logger: testLogger, clickhouse, registry },
  );
}, 240_000);

afterAll(async () => {
  await ingest?.stop();
  await joiner?.stop();
  for (const a of attributors) if (!a.stopped) await a.service.stop();
  await clickhouse?.close();
});

describe('fault 5: two attributor instances in one group, one stopped mid-stream', () => {
  it('hands its partitions to the other and ends exact', async () => {
    const started = Date.now();
    const fleet = usageFleet(rebalanceTenant.tenantId, 8_000, 800);
    const waves = 16;
    const perWave = fleet.length / waves;
    const before = await Promise.all(attributors.map((a) => metric(a.url, 'tokenledger_consumer_messages_total')));
    let stoppedAt = '';
    for (let i = 0; i < waves; i++) {
      await produce(kafka, registry, topics.usage, fleet.slice(i * perWave, (i + 1) * perWave));
      if (i === waves / 2) {
        // Stopped while waves are still coming: a clean leave, its uncommitted batches go to the survivor.
        const counts = await Promise.all(attributors.map((a) => metric(a.url, 'tokenledger_consumer_messages_total')));
        stoppedAt = `instance 2 stopped after ${i + 1} of ${waves} waves, having made ${counts[1]! - before[1]!} messages durable (instance 1: ${counts[0]! - before[0]!})`;
        await attributors[1]!.service.stop();
        attributors[1]!.stopped = true;
      }
      await sleep(300);
    }
    const tally = await settledTally(clickhouse, 'usage_facts', rebalanceTenant.tenantId, fleet.map((e) => e.event_id), 120_000);
    const exact = tally.costNano === totalNano(fleet);
    report({ fault: '5 rebalance: one of two attributors stopped mid-stream', sent: fleet.length, acknowledged: fleet.length, ...tally, exact, seconds: seconds(started), note: stoppedAt });
    expect({ lost: tally.lost, doubled: tally.doubled, exact }).toEqual({ lost: 0, doubled: 0, exact: true });
  });
});

describe('fault 6: a flood of duplicates and client retries', () => {
  it('counts each event once, with client ids and with derived ids', async () => {
    const started = Date.now();
    const tenant = dupTenant;
    const N = 2_000;
    // Even events carry a client event_id; odd ones do not, and get an id derived from their content.
    const payloads = Array.from({ length: N }, (_, i) => ({
      ...(i % 2 === 0 ? { event_id: `${tenant.tenantId}-e${i}` } : {}),
      ...fleetCall(i, 200, tenant.tenantId),
    }));
    const logical: UsageEvent[] = payloads.map((p) => usageEvent(tenant.tenantId, p));
    /** The same event as a retrying client might spell it: keys reversed, the time as RFC 3339. */
    const respelled = (p: (typeof payloads)[number]) => ({ ...Object.fromEntries(Object.entries(p).reverse()), occurred_at: new Date(p.occurred_at).toISOString() });
    const batches: unknown[][] = [];
    for (let b = 0; b < N; b += 100) batches.push(payloads.slice(b, b + 100));
    let posts = 0;
    let sentEvents = 0;
    let acknowledged = 0;
    const post = async (body: unknown[], encoding: 'json' | 'ndjson') => {
      const res = await fetch(`${ingest.url}/v1/usage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.ingest}`, 'content-type': encoding === 'json' ? 'application/json' : 'application/x-ndjson' },
        body: encoding === 'json' ? JSON.stringify(body) : body.map((e) => JSON.stringify(e)).join('\n'),
      });
      const answer = (await res.json()) as { accepted: number };
      posts++;
      sentEvents += body.length;
      if (res.status === 202) acknowledged += answer.accepted;
      else throw new Error(`${res.status} ${JSON.stringify(answer)}`);
    };
    // Every batch three times at once (a client that timed out and retried twice), once more respelled
    // as NDJSON, and a quarter of them resent later; then the whole fleet again straight onto the topic.
    await Promise.all(batches.map(async (batch) => {
      await Promise.all([post(batch, 'json'), post(batch, 'json'), post(batch, 'json')]);
      await post((batch as (typeof payloads)[number][]).map(respelled), 'ndjson');
    }));
    await Promise.all(batches.filter((_, i) => i % 4 === 0).map((batch) => post(batch, 'json')));
    await produce(kafka, registry, topics.usage, logical); // acks=all: acknowledged when it resolves
    sentEvents += logical.length;
    acknowledged += logical.length;

    const tally = await settledTally(clickhouse, 'usage_facts', tenant.tenantId, logical.map((e) => e.event_id), 120_000);
    const exact = tally.costNano === totalNano(logical);
    report({
      fault: '6 duplicates and client retries', sent: sentEvents, acknowledged, ...tally, exact, seconds: seconds(started),
      note: `${N} distinct events (half without event_id) sent ${(sentEvents / N).toFixed(2)} times each over ${posts} requests and one direct produce`,
    });
    expect({ lost: tally.lost, doubled: tally.doubled, exact }).toEqual({ lost: 0, doubled: 0, exact: true });
  });
});

describe('fault 7: poison messages on every topic', () => {
  it('dead-letters usage and outcome poison with a reason, counts rejected config, and the rest is exact', async () => {
    const started = Date.now();
    const tenant = poisonTenant.tenantId;
    const usage = usageFleet(tenant, 3_000, 300);
    const outcomes = outcomesFor(tenant, usage);
    const poisonKey = `poison-${randomUUID()}`;

    // Usage and outcome poison: not the wire format, an unknown schema id, and valid Avro that breaks the contract.
    const wire = async (topic: string, schema: object, value: unknown) => {
      const id = await registry.getLatestSchemaId(`${topic}-value`);
      const header = Buffer.alloc(5);
      header.writeUInt32BE(id, 1);
      return Buffer.concat([header, avsc.Type.forSchema(schema as never).toBuffer(value)]);
    };
    const unknownSchema = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('whatever')]);
    const usagePoison = [Buffer.from('not avro at all'), unknownSchema, await wire(topics.usage, usageEventAvro, { ...usage[0]!, event_id: 'x', input_tokens: -5 })];
    const outcomePoison = [
      Buffer.from('{"json":"is not avro"}'), unknownSchema,
      await wire(topics.outcomes, outcomeEventAvro, { ...outcomeEvent(tenant, { run_ids: ['r'] }), run_ids: [] }),
    ];

    const configRejectedBefore = await metric(attributors[0]!.url, 'tokenledger_config_changes_rejected_total');
    // Config poison: bytes that are not Avro, and valid events whose change cannot be applied.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: topics.config, acks: -1, messages: [{ key: `${poisonKey}/garbage`, value: Buffer.from('garbage') }, { key: `${poisonKey}/unknown-schema`, value: unknownSchema }] });
    await producer.disconnect();
    await publishConfigChanges(kafka, registry, [
      configChange({ tenantId: tenant, kind: 'price_override', itemId: 'broken', body: { provider: 42, input: 'cheap' }, publishedBy: 'fault' }),
      configChange({ tenantId: tenant, kind: 'no_such_kind' as never, itemId: 'x', body: {}, publishedBy: 'fault' }),
    ]);
    const configPoison = 4;

    // Poison between the good events on both topics.
    const half = usage.length / 2;
    await produce(kafka, registry, topics.usage, usage.slice(0, half));
    await produce(kafka, registry, topics.usage, usagePoison, poisonKey);
    await produce(kafka, registry, topics.outcomes, outcomes.slice(0, outcomes.length / 2));
    await produce(kafka, registry, topics.outcomes, outcomePoison, poisonKey);
    await produce(kafka, registry, topics.usage, usage.slice(half));
    await produce(kafka, registry, topics.outcomes, outcomes.slice(outcomes.length / 2));

    const letters: { consumer: string; reason: string }[] = [];
    const reader = kafka.consumer({ groupId: `fault-dlq-${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic: topics.deadLetter, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() === poisonKey) letters.push({ consumer: String(message.headers?.['x-consumer']), reason: String(message.headers?.['x-reason']) });
      },
    });
    try {
      await eventually(async () => (letters.length >= usagePoison.length + outcomePoison.length ? true : undefined), 60_000, 'every poison message dead-lettered');
      await eventually(async () => {
        const rejected = (await metric(attributors[0]!.url, 'tokenledger_config_changes_rejected_total')) - configRejectedBefore;
        return rejected >= configPoison ? true : undefined;
      }, 30_000, 'config poison rejected and counted');
    } catch (error) {
      process.stderr.write(`[fault 7] letters so far: ${JSON.stringify(letters)}\n`);
      throw error;
    } finally {
      await sleep(1_000); // a duplicate letter would show here
      await reader.disconnect();
    }
    const configRejected = (await metric(attributors[0]!.url, 'tokenledger_config_changes_rejected_total')) - configRejectedBefore;

    const usageTally = await settledTally(clickhouse, 'usage_facts', tenant, usage.map((e) => e.event_id), 120_000);
    const expected = expectedOutcomeCosts(usage, outcomes);
    const outcomeTally = await settledTally(clickhouse, 'outcome_facts', tenant, [...expected.keys()], 120_000);
    const expectedOutcomeCost = [...expected.values()].reduce((a, b) => a + b, 0n);
    const exact = usageTally.costNano === totalNano(usage) && outcomeTally.costNano === expectedOutcomeCost;
    const reasons = letters.map((l) => `${l.consumer}:${l.reason.split(':')[0]}`).sort();
    report({
      fault: '7 poison messages on every topic', sent: usage.length + outcomes.length, acknowledged: usage.length + outcomes.length,
      counted: usageTally.counted + outcomeTally.counted, lost: usageTally.lost + outcomeTally.lost, doubled: usageTally.doubled + outcomeTally.doubled,
      exact, seconds: seconds(started),
      note: `${usagePoison.length + outcomePoison.length} poison dead-lettered (${reasons.join(', ')}); ${configRejected} of ${configPoison} config poison rejected and counted`,
    });
    expect(reasons).toEqual([
      'attributor:invalid', 'attributor:not_wire_format', 'attributor:unknown_schema',
      'outcome-joiner:invalid', 'outcome-joiner:not_wire_format', 'outcome-joiner:unknown_schema',
    ]);
    expect(letters.every((l) => l.reason.length > 'invalid: '.length)).toBe(true);
    expect(configRejected).toBe(configPoison);
    expect({ usage: usageTally, outcomes: outcomeTally }).toEqual({
      usage: { counted: usage.length, lost: 0, doubled: 0, costNano: totalNano(usage) },
      outcomes: { counted: outcomes.length, lost: 0, doubled: 0, costNano: expectedOutcomeCost },
    });
  });
});
