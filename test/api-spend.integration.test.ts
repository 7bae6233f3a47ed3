import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import { configChange, nanosToDecimal, topics, type UsageEvent } from '@tokenledger/schemas';
import type { AttributorService } from '@tokenledger/attributor';
import { eventually, testEnv, testLogger, openMigratedStore } from './src/harness.js';
import { produce, usageEvent } from './src/fleet.js';
import { keyRingOf, startTestApi, startTestAttributor, tenantKeys } from './src/api-harness.js';

const env = testEnv('api-spend');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'api-spend-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const alice = tenantKeys('alice');
const bob = tenantKeys('bob');
let clickhouse: ClickHouseClient;
let attributor: AttributorService;
let client: Awaited<ReturnType<typeof startTestApi>>;
const day = (d: number, h = 10) => Date.UTC(2026, 9, d, h);

/** 2.5 USD/MTok in, 10 USD/MTok out: exact nano-USD per event. */
const cost = (e: UsageEvent) => BigInt(e.input_tokens) * 2_500n + BigInt(e.output_tokens) * 10_000n;

function fleet(tenantId: string, n: number): UsageEvent[] {
  const projects = ['search', 'billing', 'support'];
  const models = ['acme-large', 'acme-small'];
  return Array.from({ length: n }, (_, i) => usageEvent(tenantId, {
    provider: 'acme', model: models[i % 2]!, run_id: `run-${i % 7}`, occurred_at: day(1 + (i % 3), i % 24),
    input_tokens: 100 + i * 13, output_tokens: 10 + i, cached_input_tokens: i % 5 === 0 ? 50 : 0, reasoning_tokens: i % 4,
    tags: { project: projects[i % 3]! }, user_id: `u${i % 4}`, workflow: 'triage',
  }));
}

const aliceEvents = fleet(alice.tenantId, 60);
const bobEvents = fleet(bob.tenantId, 10);

beforeAll(async () => {
  clickhouse = await openMigratedStore(env);
  await publishConfigChanges(kafka, registry, [alice, bob].map((t) => configChange({
    tenantId: t.tenantId, kind: 'price_override', itemId: 'acme', publishedBy: 'test',
    // cached input at the input rate, so expected costs stay simple
    body: { provider: 'acme', model: 'acme-*', effective_from: 0, input: '2.5', cached_input: '2.5', output: '10' },
  })));
  attributor = await startTestAttributor(env, clickhouse);
  await produce(kafka, registry, topics.usage, [...aliceEvents, ...bobEvents]);
  client = await startTestApi(env, clickhouse, keyRingOf(alice, bob));
  await eventually(async () => {
    const r = await client.get('/v1/spend?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z', alice.query);
    return (r.json.totals as { calls: number } | undefined)?.calls === 60 ? true : undefined;
  }, 60_000, 'facts visible');
});

afterAll(async () => {
  await client?.api.stop();
  await attributor?.stop();
  await clickhouse?.close();
});

const range = 'from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z';

describe('GET /v1/spend: happy path', () => {
  it('groups cost and tokens by project exactly, with totals', async () => {
    const r = await client.get(`/v1/spend?${range}&group_by=project`, alice.query);
    expect(r.status).toBe(200);
    const expected = new Map<string, { cost: bigint; input: number; calls: number }>();
    for (const e of aliceEvents) {
      const p = e.tags.project!;
      const acc = expected.get(p) ?? { cost: 0n, input: 0, calls: 0 };
      expected.set(p, { cost: acc.cost + cost(e), input: acc.input + e.input_tokens, calls: acc.calls + 1 });
    }
    const rows = r.json.rows as { project: string; cost_usd: string; input_tokens: number; calls: number }[];
    expect(new Map(rows.map((row) => [row.project, { cost: row.cost_usd, input: row.input_tokens, calls: row.calls }]))).toEqual(
      new Map([...expected].map(([p, v]) => [p, { cost: nanosToDecimal(v.cost), input: v.input, calls: v.calls }])),
    );
    const total = aliceEvents.reduce((s, e) => s + cost(e), 0n);
    expect(r.json.totals).toMatchObject({ cost_usd: nanosToDecimal(total), calls: 60, reasoning_tokens: aliceEvents.reduce((s, e) => s + e.reasoning_tokens, 0) });
  });

  it('adds a period per interval and groups by several dimensions', async () => {
    const r = await client.get(`/v1/spend?${range}&group_by=model,user_id&interval=day`, alice.query);
    expect(r.status).toBe(200);
    const rows = r.json.rows as { period: string; model: string; user_id: string; calls: number }[];
    expect(new Set(rows.map((row) => row.period))).toEqual(new Set(['2026-10-01T00:00:00Z', '2026-10-02T00:00:00Z', '2026-10-03T00:00:00Z']));
    expect(rows.reduce((s, row) => s + row.calls, 0)).toBe(60);
    const one = rows.find((row) => row.period === '2026-10-01T00:00:00Z' && row.model === 'acme-large' && row.user_id === 'u0');
    const expectedCalls = aliceEvents.filter((e) => e.occurred_at < day(2, 0) && e.model === 'acme-large' && e.user_id === 'u0').length;
    expect(one?.calls ?? 0).toBe(expectedCalls);
  });

  it('serves an OpenAPI document that lists it', async () => {
    const r = await client.get('/openapi.json');
    expect(r.status).toBe(200);
    expect(r.json.openapi).toBe('3.1.0');
    expect(Object.keys(r.json.paths as object)).toContain('/v1/spend');
  });
});

describe('BI views', () => {
  it('give the same numbers as the api', async () => {
    const api = (await client.get(`/v1/spend?${range}&group_by=project`, alice.query)).json.rows as { project: string; cost_usd: string; calls: number; input_tokens: number }[];
    const view = await (await clickhouse.query({
      query: `SELECT project, toString(sum(cost_usd)) AS cost_usd, toUInt64(sum(calls)) AS calls, toUInt64(sum(input_tokens)) AS input_tokens
              FROM v_usage_allocations WHERE tenant_id = {tenant:String} GROUP BY project ORDER BY project`,
      query_params: { tenant: alice.tenantId }, format: 'JSONEachRow',
    })).json<{ project: string; cost_usd: string; calls: string; input_tokens: string }>();
    expect(view.map((v) => ({ ...v, calls: Number(v.calls), input_tokens: Number(v.input_tokens) })))
      .toEqual(api.map(({ project, cost_usd, calls, input_tokens }) => ({ project, cost_usd, calls, input_tokens })).sort((a, b) => a.project.localeCompare(b.project)));
  });
});

describe('GET /v1/spend: errors', () => {
  it.each([
    ['group_by=colour', 'group_by'],
    ['from=yesterday', 'from'],
    ['interval=fortnight', 'interval'],
    ['from=2026-11-01T00:00:00Z&to=2026-10-01T00:00:00Z', 'from'],
    ['limit=5', 'limit'],
    ['group_by=project,project', 'group_by'],
  ])('%s → 400 naming %s', async (qs, name) => {
    const r = await client.get(`/v1/spend?${qs}`, alice.query);
    expect(r.status).toBe(400);
    expect((r.json.errors as { path: string }[]).map((e) => e.path).join(' ')).toContain(name);
  });
});

describe('GET /v1/spend: security', () => {
  it('needs a key: none → 401, unknown → 401, ingest key → 403', async () => {
    expect((await client.get(`/v1/spend?${range}`)).status).toBe(401);
    expect((await client.get(`/v1/spend?${range}`, 'tlq_nope')).status).toBe(401);
    expect((await client.get(`/v1/spend?${range}`, alice.ingest)).status).toBe(403);
  });

  it("never shows another tenant's data", async () => {
    const r = await client.get(`/v1/spend?${range}`, bob.query);
    expect(r.json.totals).toMatchObject({ calls: 10, cost_usd: nanosToDecimal(bobEvents.reduce((s, e) => s + cost(e), 0n)) });
  });

  it('publishes config only with an admin key, validated', async () => {
    expect((await client.call('PUT', '/v1/config/ticket_prefix/PAY', alice.query, { body: { project: 'p' } })).status).toBe(403);
    const bad = await client.call('PUT', '/v1/config/ticket_prefix/PAY', alice.admin, { body: { projekt: 'p' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('projekt');
    const ok = await client.call('PUT', '/v1/config/ticket_prefix/PAY', alice.admin, { body: { project: 'payments' } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ kind: 'ticket_prefix', item_id: 'PAY' });
  });
});
