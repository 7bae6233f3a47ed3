import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka,  publishConfigChanges, SchemaRegistry, type ClickHouseClient,
} from '@tokenledger/infra';
import { configChange, topics, usageEventAvro, type UsageEvent } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import avsc from 'avsc';
import { eventually, freePort, testEnv, testLogger, openMigratedStore } from './src/harness.js';
import { produce, usageEvent } from './src/fleet.js';

const tenant = `t-${randomUUID().slice(0, 8)}`;
const env = testEnv('attributor');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'attributor-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
let clickhouse: ClickHouseClient;
let attributor: AttributorService | undefined;
let port: number;

async function startService(groupId: string): Promise<AttributorService> {
  port = await freePort();
  const config = loadAttributorConfig({ ...env, ATTRIBUTOR_PORT: String(port), ATTRIBUTOR_HOST: '127.0.0.1', ATTRIBUTOR_GROUP_ID: groupId });
  return startAttributor(config, { logger: testLogger, clickhouse, registry });
}

async function query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  return (await clickhouse.query({ query: sql, query_params: { tenant, ...params }, format: 'JSONEachRow' })).json<T>();
}

/** Facts of this file's tenant for the given event ids, deduplicated (FINAL). */
async function facts(eventIds: string[]) {
  return query<{ event_id: string; cost_usd: string; attribution_tier: string; attribution_rule: string; 'alloc.project': string[]; 'alloc.cost_usd': string[]; 'alloc.capex_class': string[]; price_status: string; rules_version: string; prices_version: string }>(
    `SELECT event_id, cost_usd, attribution_tier, attribution_rule, alloc.project, alloc.cost_usd, alloc.capex_class, price_status, rules_version, prices_version
     FROM usage_facts FINAL WHERE tenant_id = {tenant:String} AND event_id IN {ids:Array(String)} ORDER BY event_id`,
    { ids: eventIds },
  );
}

const priced = (payload: Parameters<typeof usageEvent>[1]) => usageEvent(tenant, { provider: 'acme', model: 'acme-large', input_tokens: 1000, output_tokens: 200, ...payload });

beforeAll(async () => {
  clickhouse = await openMigratedStore(env);
  // 2.5 USD/MTok in, 10 USD/MTok out: 1,000 in + 200 out costs exactly 0.0045 USD.
  const change = (kind: Parameters<typeof configChange>[0]['kind'], itemId: string, body: unknown) =>
    configChange({ tenantId: tenant, kind, itemId, body, publishedBy: 'test' });
  await publishConfigChanges(kafka, registry, [
    change('price_override', 'acme-list', { provider: 'acme', model: 'acme-*', effective_from: 0, input: '2.5', output: '10' }),
    change('ticket_prefix', 'PAY', { project: 'payments' }),
    change('project', 'payments', { class: 'capex_eligible', stages: { preliminary_until: Date.parse('2026-01-01'), development_until: Date.parse('2027-01-01') } }),
    change('directory_user', 'u-ana', { team: 'core' }),
    change('directory_team', 'core', { cost_center: 'cc-42', default_project: 'platform' }),
  ]);
  attributor = await startService(`attributor-test-${randomUUID()}`);
});

afterAll(async () => {
  await attributor?.stop();
  await clickhouse.close();
});

describe('attributor against real Kafka, registry and ClickHouse', () => {
  it('prices exactly and attributes by every tier', async () => {
    const events = [
      priced({ tags: { project: 'search' } }),
      priced({ prompt: { excerpt: 'Please fix PAY-1234 before release' } }),
      priced({ user_id: 'u-ana' }),
      priced({}),
      priced({ tags: { project_split: 'alpha:60,beta:40' }, input_tokens: 1, output_tokens: 0 }),
      usageEvent(tenant, { provider: 'nobody', model: 'home-made-7b' }),
    ];
    await produce(kafka, registry, topics.usage, events);
    const ids = events.map((e) => e.event_id);
    const rows = await eventually(async () => {
      const r = await facts(ids);
      return r.length === ids.length ? r : undefined;
    }, 60_000, 'facts written');
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    const fact = (e: UsageEvent) => byId.get(e.event_id)!;
    expect(fact(events[0]!)).toMatchObject({ cost_usd: '0.0045', attribution_tier: 'explicit', 'alloc.project': ['search'] });
    expect(fact(events[1]!)).toMatchObject({ attribution_tier: 'prompt', attribution_rule: 'ticket:PAY', 'alloc.project': ['payments'], 'alloc.capex_class': ['capex'] });
    expect(fact(events[2]!)).toMatchObject({ attribution_tier: 'person', 'alloc.project': ['platform'] });
    expect(fact(events[3]!)).toMatchObject({ attribution_tier: 'unattributed' });
    // 1 input token at 2.5 USD/MTok = 2,500 nano-USD, split 60/40 exactly.
    expect(fact(events[4]!)).toMatchObject({ cost_usd: '0.0000025', 'alloc.project': ['alpha', 'beta'], 'alloc.cost_usd': ['0.0000015', '0.000001'] });
    expect(fact(events[5]!)).toMatchObject({ cost_usd: '0', price_status: 'unpriced' });
    expect(Number(fact(events[0]!).prices_version)).toBeGreaterThan(0);
    expect(Number(fact(events[0]!).rules_version)).toBeGreaterThan(Number(fact(events[0]!).prices_version));
  });

  it('counts duplicates and redeliveries once', async () => {
    const events = Array.from({ length: 50 }, (_, i) => priced({ event_id: `dup-${i}-${randomUUID()}`, run_id: `dup-run-${i % 5}` }));
    await produce(kafka, registry, topics.usage, [...events, ...events.slice(0, 20)]);
    const ids = events.map((e) => e.event_id);
    const total = async () => (await query<{ n: string; cost: string }>(
      'SELECT count() AS n, sum(cost_usd) AS cost FROM usage_facts FINAL WHERE tenant_id = {tenant:String} AND event_id IN {ids:Array(String)}', { ids },
    ))[0]!;
    await eventually(async () => ((await total()).n === '50' ? true : undefined), 60_000, '50 facts');
    // A second consumer group re-reads the whole topic: every event is delivered and written again.
    await attributor!.stop();
    const restartedAt = (await query<{ now: string }>('SELECT toString(now64(6)) AS now'))[0]!.now;
    attributor = await startService(`attributor-test-${randomUUID()}`);
    await eventually(async () => {
      const [row] = await query<{ rewritten: string }>(
        'SELECT countIf(written_at > toDateTime64({at:String}, 6)) AS rewritten FROM usage_facts FINAL WHERE tenant_id = {tenant:String} AND event_id IN {ids:Array(String)}',
        { ids, at: restartedAt },
      );
      return row!.rewritten === '50' ? true : undefined;
    }, 60_000, 'every event redelivered and rewritten');
    expect(await total()).toEqual({ n: '50', cost: '0.225' }); // still counted once: 50 × 0.0045
  });

  it('dead-letters poison messages with a reason and goes on', async () => {
    const poisonKey = `poison-${randomUUID()}`;
    const wrongContract = avsc.Type.forSchema(usageEventAvro as never).toBuffer({ ...priced({}), input_tokens: -5 });
    const unknownSchema = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('whatever')]);
    const schemaId = (await registry.getLatestSchemaId(`${topics.usage}-value`));
    const invalid = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), wrongContract]);
    invalid.writeUInt32BE(schemaId, 1);
    const after = priced({});
    await produce(kafka, registry, topics.usage, [Buffer.from('not avro at all'), unknownSchema, invalid], poisonKey);
    await produce(kafka, registry, topics.usage, [after]);

    const reasons: string[] = [];
    const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.deadLetter, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() === poisonKey) reasons.push(String(message.headers?.['x-reason']));
      },
    });
    await eventually(async () => (reasons.length >= 3 ? true : undefined), 60_000, 'three dead letters');
    await consumer.disconnect();
    expect(reasons.sort().map((r) => r.split(':')[0])).toEqual(['invalid', 'not_wire_format', 'unknown_schema']);
    expect(reasons.find((r) => r.startsWith('invalid'))).toContain('input_tokens');
    await eventually(async () => ((await facts([after.event_id])).length === 1 ? true : undefined), 60_000, 'the event after the poison');
  });

  it('pauses while ClickHouse refuses writes, loses nothing, and catches up', async () => {
    await clickhouse.command({ query: 'RENAME TABLE usage_facts TO usage_facts_away' });
    const events = Array.from({ length: 20 }, () => priced({}));
    await produce(kafka, registry, topics.usage, events);
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503 ? true : undefined), 30_000, 'not ready while failing');
    await clickhouse.command({ query: 'RENAME TABLE usage_facts_away TO usage_facts' });
    const rows = await eventually(async () => {
      const r = await facts(events.map((e) => e.event_id));
      return r.length === 20 ? r : undefined;
    }, 90_000, 'caught up after ClickHouse came back');
    expect(rows.every((r) => r.cost_usd === '0.0045')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  });
});
