/**
 * GET /v1/capitalization and /v1/export/focus against real Kafka, registry and ClickHouse: usage
 * goes through the attributor under a project catalogue (ASC 350-40 stages), and the answers are
 * checked against allocations this file works out on its own. The FOCUS CSV is parsed here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import { configChange, decimalToNanos, nanosToDecimal, topics, type UsageEvent } from '@tokenledger/schemas';
import type { AttributorService } from '@tokenledger/attributor';
import { eventually, testEnv, testLogger, openMigratedStore } from './src/harness.js';
import { acmeCostNano as costNano, acmePriceOverride, produce, usageEvent } from './src/fleet.js';
import { errorPaths, expectQueryKeyRequired, keyRingOf, startTestApi, startTestAttributor, tenantKeys, type TenantKeys } from './src/api-harness.js';

const env = testEnv('api-export');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'api-export-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const alice = tenantKeys('alice');
const bob = tenantKeys('bob');
const range = 'from=2026-10-01T00:00:00Z&to=2027-01-01T00:00:00Z';
const RANGE_FROM = Date.UTC(2026, 9, 1);

/** Development of `platform` runs from Oct 10 to Nov 20: capitalizable then, expensed before and after. */
const DEVELOPMENT_FROM = Date.UTC(2026, 9, 10);
const DEVELOPMENT_UNTIL = Date.UTC(2026, 10, 20);
const catalogue: Record<string, { investment: string; class: 'capex_eligible' | 'opex' }> = {
  platform: { investment: 'agent-platform', class: 'capex_eligible' },
  support: { investment: 'customer-ops', class: 'opex' },
};


async function configure(t: TenantKeys): Promise<void> {
  // acme costs 2.5 USD/MTok in and 10 out: always a multiple of 2,500 nano-USD, so a 60/40 split is exact.
  await publishConfigChanges(kafka, registry, [acmePriceOverride(t.tenantId), ...[
    { kind: 'project' as const, itemId: 'platform', body: { ...catalogue.platform, stages: { preliminary_until: DEVELOPMENT_FROM, development_until: DEVELOPMENT_UNTIL } } },
    { kind: 'project' as const, itemId: 'support', body: catalogue.support },
    { kind: 'directory_user' as const, itemId: 'dana', body: { team: 'ml-platform' } },
    { kind: 'directory_team' as const, itemId: 'ml-platform', body: { cost_center: 'cc-7' } },
  ].map((c) => configChange({ tenantId: t.tenantId, publishedBy: 'test', ...c }))]);
}

/** Calls over three months: both projects, a 60/40 split, unattributed and unpriced calls, awkward text. */
function fleet(tenant: string, n: number): UsageEvent[] {
  const days = [3, 9, 10, 15, 28, 35, 45, 50, 55, 70, 80];
  return Array.from({ length: n }, (_, i) => {
    const at = RANGE_FROM + days[i % days.length]! * 86_400_000 + (i % 24) * 3_600_000 + i * 1_000;
    const kind = i % 6;
    const tags: Record<string, string> =
      kind === 0 || kind === 1 ? { project: 'platform' }
        : kind === 2 ? { project: 'support', cost_center: 'cc-42' }
          : kind === 3 ? { project_split: 'platform:60,support:40' }
            : kind === 4 ? { note: 'line one\nline "two", three' }
              : { project: 'platform', investment: 'moonshot' };
    return usageEvent(tenant, {
      provider: i % 13 === 12 ? 'mystery' : 'acme', model: i % 13 === 12 ? 'mystery-1' : i % 2 ? 'acme-small' : 'acme-large',
      run_id: `${tenant}-run-${i % 9}`, trace_id: `${tenant}-trace-${i % 9}`, span_id: `span-${i}`, occurred_at: at,
      input_tokens: 1_000 + 17 * i, output_tokens: 100 + 3 * i, user_id: i % 3 === 0 ? 'dana' : `user-${i}`,
      workflow: i % 10 === 7 ? 'review, "deep"\r\nmode' : 'triage', tags,
    });
  });
}

/** Each event's allocations, worked out here: project, investment, capex class and cost share. */
function allocations(e: UsageEvent) {
  const cost = costNano(e);
  const shares = e.tags.project_split
    ? [{ project: 'platform', cost: (cost * 60n) / 100n }, { project: 'support', cost: (cost * 40n) / 100n }]
    : [{ project: e.tags.project ?? '(unattributed)', cost }];
  return shares.map((s, index) => {
    const entry = catalogue[s.project];
    const capex = s.project === 'platform' && e.occurred_at >= DEVELOPMENT_FROM && e.occurred_at < DEVELOPMENT_UNTIL;
    return {
      event: e, index: index + 1, project: s.project, cost: s.cost, capex,
      investment: e.tags.investment ?? entry?.investment ?? '',
      costCenter: e.tags.cost_center ?? (e.user_id === 'dana' ? 'cc-7' : ''),
      team: e.user_id === 'dana' ? 'ml-platform' : '',
    };
  });
}

const month = (t: number) => new Date(t).toISOString().slice(0, 7);

function capitalization(events: UsageEvent[]) {
  const rows = new Map<string, { month: string; investment: string; capex: bigint; opex: bigint }>();
  for (const a of events.flatMap(allocations)) {
    const key = `${month(a.event.occurred_at)}|${a.investment}`;
    const row = rows.get(key) ?? { month: month(a.event.occurred_at), investment: a.investment, capex: 0n, opex: 0n };
    if (a.capex) row.capex += a.cost;
    else row.opex += a.cost;
    rows.set(key, row);
  }
  return [...rows.values()]
    .sort((a, b) => (a.month + a.investment < b.month + b.investment ? -1 : 1))
    .map((r) => ({ month: r.month, investment: r.investment, capex_usd: nanosToDecimal(r.capex), opex_usd: nanosToDecimal(r.opex), total_usd: nanosToDecimal(r.capex + r.opex) }));
}

/** RFC 4180: records end in CRLF; a quoted field may hold commas, CR, LF and doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new Error('unterminated quoted field');
        if (text[q + 1] === '"') {
          field += text.slice(j, q + 1);
          j = q + 2;
        } else {
          field += text.slice(j, q);
          i = q + 1;
          break;
        }
      }
      if (text[i] !== ',' && text.slice(i, i + 2) !== '\r\n') throw new Error(`text after a closing quote at ${i}`);
      continue;
    }
    if (c === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else {
      if (c === '\r' || c === '\n' || c === '"') throw new Error(`bare ${JSON.stringify(c)} in an unquoted field at ${i}`);
      field += c;
      i++;
    }
  }
  if (field !== '' || record.length) throw new Error('the last record does not end in CRLF');
  return records;
}

function csvObjects(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header = [], ...records] = parseCsv(text);
  for (const r of records) expect(r).toHaveLength(header.length);
  return { header, rows: records.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i]!]))) };
}

let clickhouse: ClickHouseClient;
let attributor: AttributorService;
let client: Awaited<ReturnType<typeof startTestApi>>;
const aliceEvents = fleet(alice.tenantId, 66);
const bobEvents = fleet(bob.tenantId, 8);

beforeAll(async () => {
  clickhouse = await openMigratedStore(env);
  await configure(alice);
  await configure(bob);
  attributor = await startTestAttributor(env, clickhouse);
  await produce(kafka, registry, topics.usage, [...aliceEvents, ...bobEvents]);
  client = await startTestApi(env, clickhouse, keyRingOf(alice, bob));
  await eventually(async () => {
    const [a, b] = await Promise.all([client.get(`/v1/spend?${range}`, alice.query), client.get(`/v1/spend?${range}`, bob.query)]);
    const calls = (r: typeof a) => (r.json.totals as { calls: number } | undefined)?.calls;
    return calls(a) === aliceEvents.length && calls(b) === bobEvents.length ? true : undefined;
  }, 60_000, 'facts visible');
});

afterAll(async () => {
  await client?.api.stop();
  await attributor?.stop();
  await clickhouse?.close();
});

describe('GET /v1/capitalization: happy path', () => {
  it('splits token cost into capex and opex per investment per month, exactly', async () => {
    const r = await client.get(`/v1/capitalization?${range}`, alice.query);
    expect(r.status).toBe(200);
    const expected = capitalization(aliceEvents);
    expect(r.json.rows).toEqual(expected);
    const total = aliceEvents.reduce((s, e) => s + costNano(e), 0n);
    const capex = aliceEvents.flatMap(allocations).filter((a) => a.capex).reduce((s, a) => s + a.cost, 0n);
    expect(r.json.totals).toEqual({ capex_usd: nanosToDecimal(capex), opex_usd: nanosToDecimal(total - capex), total_usd: nanosToDecimal(total) });
    // Preliminary (before Oct 10), development and post-implementation (from Nov 20) all occur.
    expect(capex).toBeGreaterThan(0n);
    expect(new Set(expected.map((row) => row.month))).toEqual(new Set(['2026-10', '2026-11', '2026-12']));
    const platformOctober = expected.find((row) => row.month === '2026-10' && row.investment === 'agent-platform')!;
    expect(platformOctober.capex_usd).not.toBe('0');
    expect(platformOctober.opex_usd).not.toBe('0');
  });

  it('ranges on the call time', async () => {
    const r = await client.get('/v1/capitalization?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z', alice.query);
    expect(r.json.rows).toEqual(capitalization(aliceEvents.filter((e) => month(e.occurred_at) === '2026-11')));
  });
});

const focusColumns = [
  'BillingAccountId', 'BillingCurrency', 'BillingPeriodStart', 'BillingPeriodEnd', 'ChargePeriodStart', 'ChargePeriodEnd', 'ChargeCategory',
  'ChargeDescription', 'BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'PricingQuantity', 'PricingUnit', 'ConsumedQuantity',
  'ConsumedUnit', 'ProviderName', 'PublisherName', 'InvoiceIssuerName', 'ServiceName', 'ServiceCategory', 'ResourceId', 'ResourceName', 'SkuId',
  'SkuPriceId', 'Tags', 'x_EventId', 'x_RunId', 'x_TraceId', 'x_Project', 'x_Investment', 'x_CostCenter', 'x_Team', 'x_CapexClass',
  'x_AttributionTier', 'x_AttributionRule', 'x_PriceSource',
];

describe('GET /v1/export/focus: happy path', () => {
  it('answers FOCUS CSV, one row per allocation, whose costs and quantities sum exactly', async () => {
    const r = await client.get(`/v1/export/focus?${range}`, alice.query);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="tokenledger-focus-2026-10-01T000000Z-2027-01-01T000000Z.csv"');
    const { header, rows } = csvObjects(r.text);
    expect(header).toEqual(expect.arrayContaining(focusColumns));
    const expected = aliceEvents.flatMap(allocations);
    expect(rows).toHaveLength(expected.length);
    const total = (column: string) => nanosToDecimal(rows.reduce((s, row) => s + decimalToNanos(row[column]!), 0n));
    const cost = nanosToDecimal(aliceEvents.reduce((s, e) => s + costNano(e), 0n));
    for (const column of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost']) expect(total(column), column).toBe(cost);
    expect(rows.reduce((s, row) => s + BigInt(row.ConsumedQuantity!), 0n)).toBe(aliceEvents.reduce((s, e) => s + BigInt(e.input_tokens + e.output_tokens), 0n));
    expect(new Set(rows.map((row) => row.BillingAccountId))).toEqual(new Set([alice.tenantId]));
    expect(new Set(rows.map((row) => row.x_EventId))).toEqual(new Set(aliceEvents.map((e) => e.event_id)));
  });

  it('maps each allocation: periods, provider, model, SKU, tags, attribution and ids', async () => {
    const { rows } = csvObjects((await client.get(`/v1/export/focus?${range}`, alice.query)).text);
    for (const a of aliceEvents.flatMap(allocations)) {
      const e = a.event;
      const row = rows.find((candidate) => candidate.x_EventId === e.event_id && candidate.x_AllocationIndex === String(a.index));
      expect(row, `${e.event_id}#${a.index}`).toBeDefined();
      const hour = Math.floor(e.occurred_at / 3_600_000) * 3_600_000;
      const monthStart = new Date(Date.UTC(new Date(e.occurred_at).getUTCFullYear(), new Date(e.occurred_at).getUTCMonth(), 1));
      const nextMonth = new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth() + 1, 1));
      const tokens = a.index === 1 ? e.input_tokens + e.output_tokens : 0;
      const attribution = Object.fromEntries(Object.entries({ project: a.project, investment: a.investment, cost_center: a.costCenter, team: a.team }).filter(([, v]) => v));
      expect(row).toMatchObject({
        BillingCurrency: 'USD',
        BillingPeriodStart: monthStart.toISOString().replace('.000', ''),
        BillingPeriodEnd: nextMonth.toISOString().replace('.000', ''),
        ChargePeriodStart: new Date(hour).toISOString().replace('.000', ''),
        ChargePeriodEnd: new Date(hour + 3_600_000).toISOString().replace('.000', ''),
        ChargeCategory: 'Usage',
        BilledCost: nanosToDecimal(a.cost),
        EffectiveCost: nanosToDecimal(a.cost),
        ConsumedQuantity: String(tokens),
        ConsumedUnit: 'Tokens',
        PricingQuantity: String(tokens / 1e6),
        ProviderName: e.provider,
        ServiceCategory: 'AI and Machine Learning',
        ResourceId: e.model,
        SkuId: `${e.provider}/${e.model}`,
        x_RunId: e.run_id,
        x_TraceId: e.trace_id,
        x_SpanId: e.span_id,
        x_OccurredAt: new Date(e.occurred_at).toISOString(),
        x_Workflow: e.workflow,
        x_UserId: e.user_id,
        x_Project: a.project,
        x_Investment: a.investment,
        x_CostCenter: a.costCenter,
        x_Team: a.team,
        x_CapexClass: a.capex ? 'capex' : 'opex',
        x_PriceSource: e.provider === 'acme' ? 'override' : 'none',
        x_PriceStatus: e.provider === 'acme' ? 'priced' : 'unpriced',
        x_AttributionTier: e.tags.project || e.tags.project_split ? 'explicit' : 'unattributed',
      });
      expect(JSON.parse(row!.Tags!)).toEqual({ ...e.tags, ...attribution });
    }
    // The awkward workflow and tag text come back intact through the quoting.
    expect(rows.some((row) => row.x_Workflow === 'review, "deep"\r\nmode')).toBe(true);
    expect(rows.some((row) => JSON.parse(row.Tags!).note === 'line one\nline "two", three')).toBe(true);
  });

  it('keeps to the range, and answers just the header for an empty one', async () => {
    const r = await client.get('/v1/export/focus?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z', alice.query);
    const { rows } = csvObjects(r.text);
    expect(rows).toHaveLength(aliceEvents.filter((e) => month(e.occurred_at) === '2026-11').flatMap(allocations).length);
    const empty = await client.get('/v1/export/focus?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z', alice.query);
    expect(empty.status).toBe(200);
    expect(parseCsv(empty.text)).toHaveLength(1);
  });

  it('is listed in the OpenAPI document as text/csv', async () => {
    const r = await client.get('/openapi.json');
    const paths = r.json.paths as Record<string, { get: { responses: { 200: { content: Record<string, unknown> } } } }>;
    expect(Object.keys(paths['/v1/export/focus']!.get.responses[200].content)).toEqual(['text/csv']);
    expect(paths['/v1/capitalization']).toBeDefined();
  });
});

describe('export endpoints: errors', () => {
  it.each([
    ['/v1/capitalization?from=last-week', 'from'],
    ['/v1/capitalization?group_by=project', 'group_by'],
    ['/v1/export/focus?to=tomorrow', 'to'],
    ['/v1/export/focus?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z', 'from'],
    ['/v1/export/focus?format=parquet', 'format'],
  ])('%s → 400 naming %s', async (path, name) => {
    const r = await client.get(path, alice.query);
    expect(r.status).toBe(400);
    expect(errorPaths(r.json)).toContain(name);
  });
});

describe('export endpoints: security', () => {
  it('needs a query or admin key: none → 401, unknown → 401, ingest key → 403', async () => {
    await expectQueryKeyRequired(client, alice, [`/v1/capitalization?${range}`, `/v1/export/focus?${range}`]);
  });

  it("never shows another tenant's costs", async () => {
    const cap = await client.get(`/v1/capitalization?${range}`, bob.query);
    expect(cap.json.rows).toEqual(capitalization(bobEvents));
    const { rows } = csvObjects((await client.get(`/v1/export/focus?${range}`, bob.query)).text);
    expect(rows).toHaveLength(bobEvents.flatMap(allocations).length);
    expect(new Set(rows.map((row) => row.BillingAccountId))).toEqual(new Set([bob.tenantId]));
    expect(rows.every((row) => row.x_RunId!.startsWith(bob.tenantId))).toBe(true);
  });
});
