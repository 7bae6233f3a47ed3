/**
 * GET /v1/unit-economics, /v1/marginal-utility, /v1/waste and /v1/runs/:run_id against real Kafka,
 * registry and ClickHouse: usage and outcomes go through the attributor and the outcome joiner (in
 * process, with a clock past the no-outcome horizon), and every answer is checked against numbers
 * this file computes on its own from the generated fleet.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import { decimalToNanos, divideRoundHalfEven, nanosToDecimal, topics, type OutcomeEvent, type UsageEvent } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import { loadJoinerConfig, startJoiner, type JoinerService } from '@tokenledger/outcome-joiner';
import { eventually, freePort, testEnv, testLogger, openMigratedStore } from './src/harness.js';
import { acmeCostNano as costNano, acmePriceOverride, outcomeEvent, produce, usageEvent } from './src/fleet.js';
import { errorPaths, expectQueryKeyRequired, keyRingOf, startTestApi, tenantKeys } from './src/api-harness.js';

const env = testEnv('api-outcomes');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'api-outcomes-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const alice = tenantKeys('alice');
const bob = tenantKeys('bob');
const HOUR = 3_600_000;
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 9, 5, 8);
const range = 'from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z';
const inRange = (t: number) => t >= Date.UTC(2026, 9, 1) && t < Date.UTC(2026, 10, 1);

/** The joiner runs with a loaded human cost of 60 USD an hour: 1 USD a minute. */
const HUMAN_USD_PER_HOUR = '60';

interface OutcomeSpec {
  id: string;
  type: 'ticket_resolved' | 'invoice_matched';
  project: string;
  events: { status: 'accepted' | 'rejected'; at: number; runs: string[] }[];
  value?: string;
  baseline?: string;
  humanMinutes?: string;
}

/**
 * A fleet: workflow `triage` (tickets; acme-large mostly, acme-small as cheap, acme-mini as poor)
 * and `extract` (invoices; values, baselines, human minutes, a rework that adds a run), an
 * outcome without usage, one outside the range, and runs no outcome claims (one unpriced).
 */
function fleet(tenant: string, size: { large: number; small: number; mini: number; extractLarge: number; extractSmall: number }) {
  const usage: UsageEvent[] = [];
  const specs: OutcomeSpec[] = [];
  const run = (name: string) => `${tenant}-${name}`;
  const call = (runName: string, at: number, p: { model: string; workflow: string; step: string; attempt?: number; status?: 'ok' | 'error' | 'timeout'; input: number; output: number; project?: string; provider?: string }) =>
    usage.push(usageEvent(tenant, {
      provider: p.provider ?? 'acme', model: p.model, run_id: run(runName), trace_id: `trace-${run(runName)}`, workflow: p.workflow, step: p.step,
      attempt: p.attempt ?? 1, status: p.status ?? 'ok', input_tokens: p.input, output_tokens: p.output, occurred_at: at,
      tags: p.project ? { project: p.project } : {},
    }));

  const triage = [
    { model: 'acme-large', n: size.large, input: 4_000, inStep: 37, output: 300, rejected: [2, 5] },
    { model: 'acme-small', n: size.small, input: 1_500, inStep: 11, output: 120, rejected: [3, 6] },
    { model: 'acme-mini', n: size.mini, input: 600, inStep: 5, output: 50, rejected: [2, 3, 4, 5] },
  ];
  triage.forEach((m, mi) => {
    for (let k = 0; k < m.n; k++) {
      const name = `triage-${m.model}-${k}`;
      const at = T0 + (mi * 10 + k) * HOUR;
      const base = { model: m.model, workflow: 'triage', project: 'support', output: m.output + k };
      call(name, at, { ...base, step: 'plan', input: m.input + m.inStep * k });
      if (k % 4 === 1) {
        call(name, at + MINUTE, { ...base, step: 'act', attempt: 1, status: 'error', input: m.input + 2 * k });
        call(name, at + 2 * MINUTE, { ...base, step: 'act', attempt: 2, input: m.input + 3 * k });
      } else {
        call(name, at + MINUTE, { ...base, step: 'act', input: m.input + 4 * k });
      }
      // A cheap review on another model: the outcome still counts for the model that spent most.
      if (k === 0) call(name, at + 3 * MINUTE, { ...base, model: 'acme-mini', step: 'review', input: 100, output: 10 });
      const rejected = m.rejected.includes(k);
      specs.push({
        id: name, type: 'ticket_resolved', project: 'support', baseline: '0.9', ...(rejected ? { humanMinutes: '3' } : {}),
        events: [{ status: rejected ? 'rejected' : 'accepted', at: at + 30 * MINUTE, runs: [run(name)] }],
      });
    }
  });

  const extract = [
    { model: 'acme-large', n: size.extractLarge, input: 8_000, output: 900, rejected: [3] },
    { model: 'acme-small', n: size.extractSmall, input: 3_000, output: 400, rejected: [2] },
  ];
  extract.forEach((m, mi) => {
    for (let k = 0; k < m.n; k++) {
      const name = `extract-${m.model}-${k}`;
      const at = T0 + 2 * 24 * HOUR + (mi * 10 + k) * HOUR;
      const base = { model: m.model, workflow: 'extract', project: 'billing' };
      call(name, at, { ...base, step: 'read', input: m.input + 101 * k, output: m.output + 7 * k });
      call(name, at + MINUTE, { ...base, step: 'match', input: m.input / 2 + k, output: Math.floor(m.output / 3) });
      const rejected = m.rejected.includes(k);
      const events: OutcomeSpec['events'] = [{ status: rejected ? 'rejected' : 'accepted', at: at + 30 * MINUTE, runs: [run(name)] }];
      if (mi === 0 && k === 0) {
        // Rejected first, reworked in a second run, then accepted: both runs' cost is the outcome's.
        events[0]!.status = 'rejected';
        call(`${name}-rework`, at + 2 * HOUR, { ...base, step: 'match', input: 2_222, output: 333 });
        events.push({ status: 'accepted', at: at + 3 * HOUR, runs: [run(name), run(`${name}-rework`)] });
      }
      specs.push({
        id: name, type: 'invoice_matched', project: 'billing', baseline: '6',
        ...(rejected ? { humanMinutes: '10' } : { value: '4.5', ...(mi === 0 ? { humanMinutes: '2.5' } : {}) }),
        events,
      });
    }
  });

  // Accepted with no usage at all: counts as an outcome (first pass), not in attempts or buckets.
  specs.push({ id: 'ghost', type: 'invoice_matched', project: 'billing', value: '3', baseline: '6', events: [{ status: 'accepted', at: T0 + 4 * 24 * HOUR, runs: [run('ghost')] }] });
  // Outside the range.
  const late = Date.UTC(2026, 10, 3, 10);
  call('late', late, { model: 'acme-large', workflow: 'triage', project: 'support', step: 'plan', input: 50_000, output: 5_000 });
  specs.push({ id: 'late', type: 'ticket_resolved', project: 'support', baseline: '0.9', events: [{ status: 'accepted', at: late + 30 * MINUTE, runs: [run('late')] }] });
  // Runs no outcome claims, attributed to no project; one retries, one is unpriced.
  const idle = T0 + 6 * 24 * HOUR;
  call('idle-1', idle, { model: 'acme-large', workflow: 'triage', step: 'plan', input: 7_000, output: 700 });
  call('idle-1', idle + MINUTE, { model: 'acme-large', workflow: 'triage', step: 'act', status: 'timeout', input: 7_100, output: 0 });
  call('idle-1', idle + 2 * MINUTE, { model: 'acme-large', workflow: 'triage', step: 'act', attempt: 2, input: 7_200, output: 650 });
  call('idle-2', idle + HOUR, { provider: 'mystery', model: 'mystery-1', workflow: 'triage', step: 'plan', input: 999, output: 99 });
  call('idle-2', idle + HOUR + MINUTE, { provider: 'mystery', model: 'mystery-1', workflow: 'triage', step: 'act', input: 888, output: 88 });

  const outcomes: OutcomeEvent[] = specs.flatMap((s) => s.events.map((e) => outcomeEvent(tenant, {
    outcome_id: `${tenant}-${s.id}`, outcome_type: s.type, status: e.status, occurred_at: e.at, run_ids: e.runs, tags: { project: s.project },
    ...(s.value ? { value_usd: s.value } : {}), ...(s.baseline ? { baseline_cost_usd: s.baseline } : {}), ...(s.humanMinutes ? { human_minutes: s.humanMinutes } : {}),
  })));
  return { usage, outcomes, specs: specs.map((s) => ({ ...s, id: `${tenant}-${s.id}` })), run, idleRuns: [run('idle-1'), run('idle-2')] };
}

type Fleet = ReturnType<typeof fleet>;

/** One outcome, worked out here from the fleet (no shared runs, so no splitting). */
interface Expected {
  id: string;
  type: string;
  project: string;
  status: string;
  at: number;
  accepted: boolean;
  cost: bigint;
  retryTax: bigint;
  attempts: number;
  firstPass: boolean;
  human: bigint | null;
  baseline: bigint | null;
  value: bigint | null;
  /** The (workflow, model) its runs spent most on. */
  primary: { workflow: string; model: string } | null;
}

/** A call is wasted if it failed or a later attempt of the same step in its run exists. */
function wasted(calls: UsageEvent[]): Set<string> {
  const last = new Map<string, number>();
  for (const c of calls) last.set(`${c.run_id}/${c.step}`, Math.max(last.get(`${c.run_id}/${c.step}`) ?? 0, c.attempt));
  return new Set(calls.filter((c) => c.status !== 'ok' || c.attempt < last.get(`${c.run_id}/${c.step}`)!).map((c) => c.event_id));
}

function expectedOutcomes(f: Fleet): Expected[] {
  return f.specs.map((s) => {
    const latest = [...s.events].sort((a, b) => a.at - b.at).at(-1)!;
    const runs = new Set(s.events.flatMap((e) => e.runs));
    const calls = f.usage.filter((u) => runs.has(u.run_id));
    const waste = wasted(calls);
    const attempts = calls.reduce((m, c) => Math.max(m, c.attempt), 0);
    const spend = new Map<string, bigint>();
    for (const c of calls) spend.set(`${c.workflow}\n${c.model}`, (spend.get(`${c.workflow}\n${c.model}`) ?? 0n) + costNano(c));
    const top = [...spend].sort(([ka, a], [kb, b]) => (a === b ? (ka < kb ? 1 : -1) : a > b ? -1 : 1))[0];
    return {
      id: s.id, type: s.type, project: s.project, status: latest.status, at: latest.at, accepted: latest.status === 'accepted',
      cost: calls.reduce((sum, c) => sum + costNano(c), 0n),
      retryTax: calls.filter((c) => waste.has(c.event_id)).reduce((sum, c) => sum + costNano(c), 0n),
      attempts,
      firstPass: latest.status === 'accepted' && attempts <= 1 && waste.size === 0,
      human: s.humanMinutes ? decimalToNanos(s.humanMinutes) : null, // 1 USD a minute
      baseline: s.baseline ? decimalToNanos(s.baseline) : null,
      value: s.value ? decimalToNanos(s.value) : null,
      primary: top ? { workflow: top[0].split('\n')[0]!, model: top[0].split('\n')[1]! } : null,
    };
  });
}

const sum = (list: Expected[], f: (o: Expected) => bigint | null) => list.reduce((s, o) => s + (f(o) ?? 0n), 0n);
const mean = (total: bigint, n: number) => (n === 0 ? null : nanosToDecimal(divideRoundHalfEven(total, BigInt(n))));

/** The unit economics of a set of outcomes, by the definitions in the issue. */
function economics(list: Expected[]) {
  const accepted = list.filter((o) => o.accepted).length;
  const withBaseline = list.filter((o) => o.baseline !== null);
  const withUsage = list.filter((o) => o.attempts > 0);
  const cost = sum(list, (o) => o.cost);
  const human = sum(list, (o) => o.human);
  const valued = list.some((o) => o.value !== null);
  return {
    outcomes: list.length,
    accepted,
    acceptance_rate: accepted / list.length,
    token_cost_usd: nanosToDecimal(cost),
    cost_per_accepted_outcome_usd: mean(cost, accepted),
    baseline_cost_per_outcome_usd: mean(sum(withBaseline, (o) => o.baseline), withBaseline.length),
    savings_usd: withBaseline.length ? nanosToDecimal(sum(withBaseline, (o) => o.baseline! - o.cost - (o.human ?? 0n))) : null,
    roi: valued ? Number(sum(list, (o) => o.value) - cost - human) / Number(cost + human) : null,
    first_pass_yield: list.filter((o) => o.firstPass).length / list.length,
    retry_tax_usd: nanosToDecimal(sum(list, (o) => o.retryTax)),
    mean_attempts: withUsage.length ? withUsage.reduce((s, o) => s + o.attempts, 0) / withUsage.length : null,
    human_cost_usd: nanosToDecimal(human),
    value_usd: valued ? nanosToDecimal(sum(list, (o) => o.value)) : null,
  };
}

let clickhouse: ClickHouseClient;
let attributor: AttributorService;
let joiner: JoinerService;
let client: Awaited<ReturnType<typeof startTestApi>>;
const aliceFleet = fleet(alice.tenantId, { large: 8, small: 8, mini: 6, extractLarge: 5, extractSmall: 3 });
const bobFleet = fleet(bob.tenantId, { large: 2, small: 0, mini: 0, extractLarge: 1, extractSmall: 0 });
const aliceOutcomes = expectedOutcomes(aliceFleet).filter((o) => inRange(o.at));
const bobOutcomes = expectedOutcomes(bobFleet).filter((o) => inRange(o.at));

beforeAll(async () => {
  clickhouse = await openMigratedStore(env);
  // 2.5 USD/MTok in, 10 USD/MTok out for acme models; other providers stay unpriced (cost 0).
  await publishConfigChanges(kafka, registry, [acmePriceOverride(alice.tenantId), acmePriceOverride(bob.tenantId)]);
  const serviceEnv = {
    ...env, ATTRIBUTOR_PORT: String(await freePort()), JOINER_PORT: String(await freePort()), ATTRIBUTOR_HOST: '127.0.0.1', JOINER_HOST: '127.0.0.1',
    ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}`, JOINER_GROUP_ID: `join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200',
    JOINER_SETTLE_INTERVAL_MS: '3600000', JOINER_HUMAN_COST_PER_HOUR_USD: HUMAN_USD_PER_HOUR,
  };
  attributor = await startAttributor(loadAttributorConfig(serviceEnv), { logger: testLogger, clickhouse, registry });
  // Well past the no-outcome horizon of every run.
  joiner = await startJoiner(loadJoinerConfig(serviceEnv), { logger: testLogger, clickhouse, registry, clock: { now: () => Date.UTC(2026, 11, 1) } });
  await produce(kafka, registry, topics.outcomes, [...aliceFleet.outcomes, ...bobFleet.outcomes]);
  await produce(kafka, registry, topics.usage, [...aliceFleet.usage, ...bobFleet.usage]);
  client = await startTestApi(env, clickhouse, keyRingOf(alice, bob));

  // Settled when both tenants' outcome facts and Alice's spend with no outcome are all there.
  const exact = (e: ReturnType<typeof economics>) => JSON.stringify([e.outcomes, e.accepted, e.token_cost_usd, e.retry_tax_usd, e.savings_usd, e.human_cost_usd]);
  const answered = (t: unknown) => exact(t as ReturnType<typeof economics>);
  const idleCost = nanosToDecimal(aliceFleet.usage.filter((u) => aliceFleet.idleRuns.includes(u.run_id)).reduce((s, u) => s + costNano(u), 0n));
  await eventually(async () => {
    await joiner.settle();
    const [ue, waste, bobUe] = await Promise.all([
      client.get(`/v1/unit-economics?${range}`, alice.query),
      client.get(`/v1/waste?${range}`, alice.query),
      client.get(`/v1/unit-economics?${range}`, bob.query),
    ]);
    const settled = answered(ue.json.totals) === exact(economics(aliceOutcomes))
      && answered(bobUe.json.totals) === exact(economics(bobOutcomes))
      && waste.json.no_outcome_spend_usd === idleCost && waste.json.no_outcome_runs === 2;
    return settled ? true : undefined;
  }, 120_000, 'outcome facts joined');
});

afterAll(async () => {
  await client?.api.stop();
  await joiner?.stop();
  await attributor?.stop();
  await clickhouse?.close();
});

describe('GET /v1/unit-economics: happy path', () => {
  it('answers totals over every outcome in range: retries, rejections and rework counted', async () => {
    const r = await client.get(`/v1/unit-economics?${range}`, alice.query);
    expect(r.status).toBe(200);
    expect(r.json.rows).toEqual([]);
    const totals = r.json.totals as Record<string, unknown>;
    const expected = economics(aliceOutcomes);
    expect(totals).toMatchObject({ ...expected, acceptance_rate: expect.any(Number), roi: expect.any(Number), first_pass_yield: expect.any(Number), mean_attempts: expect.any(Number) });
    for (const key of ['acceptance_rate', 'roi', 'first_pass_yield', 'mean_attempts'] as const) expect(totals[key]).toBeCloseTo(expected[key]!, 12);
    // The fleet is built so that each of these is non-trivial.
    expect(expected.accepted).toBeLessThan(expected.outcomes);
    expect(expected.retry_tax_usd).not.toBe('0');
  });

  it('groups by outcome type and project, each group exact', async () => {
    const r = await client.get(`/v1/unit-economics?${range}&group_by=outcome_type,project`, alice.query);
    expect(r.status).toBe(200);
    const rows = r.json.rows as Record<string, unknown>[];
    expect(rows.map((row) => row.outcome_type).sort()).toEqual(['invoice_matched', 'ticket_resolved']);
    for (const row of rows) {
      const expected = economics(aliceOutcomes.filter((o) => o.type === row.outcome_type));
      expect(row.project).toBe(row.outcome_type === 'ticket_resolved' ? 'support' : 'billing');
      for (const [key, value] of Object.entries(expected)) {
        if (typeof value === 'number') expect(row[key], key).toBeCloseTo(value, 12);
        else expect(row[key], key).toEqual(value);
      }
    }
    // Tickets report no value: no ROI. Invoices do.
    expect(rows.find((row) => row.outcome_type === 'ticket_resolved')?.roi).toBeNull();
    expect(typeof rows.find((row) => row.outcome_type === 'invoice_matched')?.roi).toBe('number');
  });

  it('filters by outcome type', async () => {
    const r = await client.get(`/v1/unit-economics?${range}&outcome_type=invoice_matched`, alice.query);
    expect(r.status).toBe(200);
    const expected = economics(aliceOutcomes.filter((o) => o.type === 'invoice_matched'));
    expect(r.json.totals).toMatchObject({ outcomes: expected.outcomes, token_cost_usd: expected.token_cost_usd, savings_usd: expected.savings_usd });
  });

  it('ranges on the outcome time: the outcome outside the range is left out, and an empty range answers zeros', async () => {
    const november = await client.get('/v1/unit-economics?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z', alice.query);
    const late = expectedOutcomes(aliceFleet).filter((o) => !inRange(o.at));
    expect(november.json.totals).toMatchObject({ outcomes: late.length, token_cost_usd: nanosToDecimal(sum(late, (o) => o.cost)) });
    const empty = await client.get('/v1/unit-economics?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z', alice.query);
    expect(empty.json.totals).toMatchObject({ outcomes: 0, token_cost_usd: '0', acceptance_rate: null, cost_per_accepted_outcome_usd: null, roi: null });
  });
});

/** Buckets and slope worked out here, by the method the endpoint names. */
function marginal(list: Expected[], buckets: number) {
  const used = list.filter((o) => o.attempts > 0).sort((a, b) => (a.cost === b.cost ? (a.id < b.id ? -1 : 1) : a.cost < b.cost ? -1 : 1));
  const groups = new Map<number, Expected[]>();
  used.forEach((o, i) => {
    const b = Math.floor((i * buckets) / used.length);
    groups.set(b, [...(groups.get(b) ?? []), o]);
  });
  const points = [...groups.values()].map((g) => ({
    cost: divideRoundHalfEven(sum(g, (o) => o.cost), BigInt(g.length)),
    value: divideRoundHalfEven(sum(g, (o) => o.value), BigInt(g.length)),
    outcomes: g.length,
  }));
  const n = points.length;
  const mx = points.reduce((s, p) => s + Number(p.cost), 0) / n;
  const my = points.reduce((s, p) => s + Number(p.value), 0) / n;
  const sxy = points.reduce((s, p) => s + (Number(p.cost) - mx) * (Number(p.value) - my), 0);
  const sxx = points.reduce((s, p) => s + (Number(p.cost) - mx) ** 2, 0);
  return {
    slope: used.some((o) => o.value !== null) && n >= 2 && sxx > 0 ? sxy / sxx : null,
    buckets: points.map((p) => ({ cost_usd: nanosToDecimal(p.cost), value_usd: nanosToDecimal(p.value), outcomes: p.outcomes })),
  };
}

describe('GET /v1/marginal-utility: happy path', () => {
  it('names its method and answers the slope of value on cost over quantile buckets, per group', async () => {
    const r = await client.get(`/v1/marginal-utility?${range}&group_by=outcome_type&buckets=4`, alice.query);
    expect(r.status).toBe(200);
    expect(r.json.method).toMatch(/least-squares slope .* 4 cost quantile buckets/);
    const rows = r.json.rows as { outcome_type: string; outcomes: number; marginal_value_per_usd: number | null; buckets: unknown[] }[];
    expect(rows.map((row) => row.outcome_type)).toEqual(['invoice_matched', 'ticket_resolved']);
    for (const row of rows) {
      const expected = marginal(aliceOutcomes.filter((o) => o.type === row.outcome_type), 4);
      expect(row.buckets).toEqual(expected.buckets);
      expect(row.outcomes).toBe(expected.buckets.reduce((s, b) => s + b.outcomes, 0));
      if (expected.slope === null) expect(row.marginal_value_per_usd).toBeNull();
      else expect(row.marginal_value_per_usd).toBeCloseTo(expected.slope, 9);
    }
    // Invoices report values: a slope. Tickets report none: no slope, not a slope of 0.
    expect(typeof rows[0]!.marginal_value_per_usd).toBe('number');
    expect(rows[1]!.marginal_value_per_usd).toBeNull();
  });

  it('without group_by answers one row over all outcomes with usage, 10 buckets by default', async () => {
    const r = await client.get(`/v1/marginal-utility?${range}&outcome_type=invoice_matched`, alice.query);
    const expected = marginal(aliceOutcomes.filter((o) => o.type === 'invoice_matched'), 10);
    const rows = r.json.rows as { buckets: unknown[]; marginal_value_per_usd: number }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.buckets).toEqual(expected.buckets);
    expect(rows[0]!.marginal_value_per_usd).toBeCloseTo(expected.slope!, 9);
  });
});

/** Routing candidates worked out here from each outcome's primary (workflow, model). */
function candidates(list: Expected[], minOutcomes: number, tolerance: number) {
  const stats = new Map<string, { workflow: string; model: string; outcomes: number; accepted: number; cost: bigint }>();
  for (const o of list) {
    if (!o.primary || o.attempts === 0) continue;
    const key = `${o.primary.workflow}\n${o.primary.model}`;
    const s = stats.get(key) ?? { ...o.primary, outcomes: 0, accepted: 0, cost: 0n };
    stats.set(key, { ...s, outcomes: s.outcomes + 1, accepted: s.accepted + (o.accepted ? 1 : 0), cost: s.cost + o.cost });
  }
  const out = [];
  for (const workflow of new Set([...stats.values()].map((s) => s.workflow))) {
    const models = [...stats.values()].filter((s) => s.workflow === workflow).sort((a, b) => (a.cost > b.cost ? -1 : 1));
    const current = models[0]!;
    for (const other of models.slice(1)) {
      const meanCurrent = Number(current.cost) / current.outcomes;
      const meanOther = Number(other.cost) / other.outcomes;
      if (current.outcomes < minOutcomes || other.outcomes < minOutcomes || meanOther >= meanCurrent) continue;
      if (other.accepted / other.outcomes < current.accepted / current.outcomes - tolerance) continue;
      out.push({
        workflow, current_model: current.model, candidate_model: other.model,
        current_acceptance_rate: current.accepted / current.outcomes, candidate_acceptance_rate: other.accepted / other.outcomes,
        current_mean_cost_usd: mean(current.cost, current.outcomes), candidate_mean_cost_usd: mean(other.cost, other.outcomes),
        current_outcomes: current.outcomes, candidate_outcomes: other.outcomes,
        money_at_stake_usd: nanosToDecimal(divideRoundHalfEven(current.cost * BigInt(other.outcomes) - other.cost * BigInt(current.outcomes), BigInt(other.outcomes))),
      });
    }
  }
  return out.sort((a, b) => Number(b.money_at_stake_usd) - Number(a.money_at_stake_usd));
}

describe('GET /v1/waste: happy path', () => {
  const idle = aliceFleet.usage.filter((u) => aliceFleet.idleRuns.includes(u.run_id));

  it('answers retry tax, spend with no outcome, unattributed spend and unpriced calls exactly', async () => {
    const r = await client.get(`/v1/waste?${range}`, alice.query);
    expect(r.status).toBe(200);
    const idleWaste = wasted(idle);
    const idleTax = idle.filter((u) => idleWaste.has(u.event_id)).reduce((s, u) => s + costNano(u), 0n);
    const outcomeTax = sum(aliceOutcomes, (o) => o.retryTax);
    expect(idleTax).toBeGreaterThan(0n);
    expect(r.json).toMatchObject({
      retry_tax_usd: nanosToDecimal(outcomeTax + idleTax),
      retry_tax_with_outcome_usd: nanosToDecimal(outcomeTax),
      retry_tax_no_outcome_usd: nanosToDecimal(idleTax),
      no_outcome_spend_usd: nanosToDecimal(idle.reduce((s, u) => s + costNano(u), 0n)),
      no_outcome_runs: 2,
      unattributed_usd: nanosToDecimal(idle.reduce((s, u) => s + costNano(u), 0n)),
      unpriced_calls: idle.filter((u) => u.provider === 'mystery').length,
    });
  });

  it('finds the cheaper model that accepts as often, with the money at stake', async () => {
    const r = await client.get(`/v1/waste?${range}`, alice.query);
    const expected = candidates(aliceOutcomes, 5, 0.02);
    expect(expected.map((c) => `${c.workflow}:${c.current_model}->${c.candidate_model}`)).toEqual(['triage:acme-large->acme-small']);
    expect(r.json.routing_candidates).toEqual(expected);
  });

  it('takes its thresholds as parameters', async () => {
    const loose = await client.get(`/v1/waste?${range}&min_outcomes=3&acceptance_tolerance=0.5`, alice.query);
    expect(loose.json.routing_candidates).toEqual(candidates(aliceOutcomes, 3, 0.5));
    expect((loose.json.routing_candidates as unknown[]).length).toBeGreaterThan(1);
    const strict = await client.get(`/v1/waste?${range}&min_outcomes=100`, alice.query);
    expect(strict.json.routing_candidates).toEqual([]);
  });
});

describe('GET /v1/runs/:run_id: happy path', () => {
  it("answers the run's trail: every call and retry, then its outcome, with cost and retry tax", async () => {
    const runId = aliceFleet.run('triage-acme-large-1');
    const r = await client.get(`/v1/runs/${encodeURIComponent(runId)}`, alice.query);
    expect(r.status).toBe(200);
    const calls = aliceFleet.usage.filter((u) => u.run_id === runId).sort((a, b) => a.occurred_at - b.occurred_at);
    const outcome = aliceFleet.outcomes.find((o) => o.run_ids.includes(runId))!;
    expect(r.json.entries).toEqual([
      ...calls.map((c) => ({
        occurred_at: new Date(c.occurred_at).toISOString(), entry: 'call', event_id: c.event_id, kind: 'chat', step: c.step, attempt: c.attempt,
        status: c.status, provider: 'acme', model: c.model, input_tokens: c.input_tokens, output_tokens: c.output_tokens,
        cost_usd: nanosToDecimal(costNano(c)), outcome_id: '', outcome_type: '', wasted: c.status !== 'ok',
      })),
      {
        occurred_at: new Date(outcome.occurred_at).toISOString(), entry: 'outcome', event_id: outcome.event_id, kind: 'outcome', step: '', attempt: 0,
        status: outcome.status, provider: '', model: '', input_tokens: 0, output_tokens: 0, cost_usd: '0', outcome_id: outcome.outcome_id,
        outcome_type: 'ticket_resolved', wasted: false,
      },
    ]);
    expect(r.json.summary).toEqual({
      calls: 3,
      cost_usd: nanosToDecimal(calls.reduce((s, c) => s + costNano(c), 0n)),
      retry_tax_usd: nanosToDecimal(calls.filter((c) => c.status !== 'ok').reduce((s, c) => s + costNano(c), 0n)),
      outcomes: 1,
    });
  });

  it('shows each event of a reworked outcome on the run it claims', async () => {
    const runId = aliceFleet.run('extract-acme-large-0');
    const r = await client.get(`/v1/runs/${encodeURIComponent(runId)}`, alice.query);
    const entries = r.json.entries as { entry: string; status: string }[];
    expect(entries.filter((e) => e.entry === 'outcome').map((e) => e.status)).toEqual(['rejected', 'accepted']);
    expect(r.json.summary).toMatchObject({ calls: 2, outcomes: 1, retry_tax_usd: '0' });
  });

  it('answers 404 for a run with nothing', async () => {
    const r = await client.get('/v1/runs/no-such-run', alice.query);
    expect(r.status).toBe(404);
    expect(r.json.error).toContain('no-such-run');
  });
});

describe('GET /v1/top-runs', () => {
  it('ranks runs by retry tax (then run id), with cost and calls, exactly', async () => {
    const usage = aliceFleet.usage.filter((u) => inRange(u.occurred_at));
    const waste = wasted(aliceFleet.usage);
    const runs = new Map<string, { tax: bigint; cost: bigint; calls: number }>();
    for (const u of usage) {
      const r = runs.get(u.run_id) ?? { tax: 0n, cost: 0n, calls: 0 };
      runs.set(u.run_id, { tax: r.tax + (waste.has(u.event_id) ? costNano(u) : 0n), cost: r.cost + costNano(u), calls: r.calls + 1 });
    }
    const expected = [...runs]
      .sort(([a, x], [b, y]) => (y.tax > x.tax ? 1 : y.tax < x.tax ? -1 : a < b ? -1 : 1))
      .slice(0, 5)
      .map(([run_id, r]) => ({ run_id, retry_tax_usd: nanosToDecimal(r.tax), cost_usd: nanosToDecimal(r.cost), calls: r.calls }));
    const res = await client.get(`/v1/top-runs?${range}&limit=5`, alice.query);
    expect(res.status).toBe(200);
    expect((res.json.rows as Record<string, unknown>[]).map(({ run_id, retry_tax_usd, cost_usd, calls }) => ({ run_id, retry_tax_usd, cost_usd, calls }))).toEqual(expected);
    expect((await client.get(`/v1/top-runs?${range}&limit=0`, alice.query)).status).toBe(400);
    expect((await client.get(`/v1/top-runs?${range}`, alice.ingest)).status).toBe(403);
  });
});

describe('outcome endpoints: errors', () => {
  it.each([
    ['/v1/unit-economics?group_by=workflow', 'group_by'],
    ['/v1/unit-economics?outcome_type=Not%20A%20Slug', 'outcome_type'],
    ['/v1/unit-economics?from=yesterday', 'from'],
    ['/v1/unit-economics?bucket=3', 'bucket'],
    ['/v1/marginal-utility?buckets=1', 'buckets'],
    ['/v1/marginal-utility?buckets=many', 'buckets'],
    ['/v1/marginal-utility?group_by=outcome_type,outcome_type', 'group_by'],
    ['/v1/waste?min_outcomes=0', 'min_outcomes'],
    ['/v1/waste?acceptance_tolerance=2', 'acceptance_tolerance'],
    ['/v1/waste?group_by=model', 'group_by'],
    ['/v1/waste?from=2026-11-01T00:00:00Z&to=2026-10-01T00:00:00Z', 'from'],
    ['/v1/runs/some-run?from=2026-10-01T00:00:00Z', 'from'],
  ])('%s → 400 naming %s', async (path, name) => {
    const r = await client.get(path, alice.query);
    expect(r.status).toBe(400);
    expect(errorPaths(r.json)).toContain(name);
  });
});

describe('outcome endpoints: security', () => {
  const paths = () => [`/v1/unit-economics?${range}`, `/v1/marginal-utility?${range}`, `/v1/waste?${range}`, `/v1/runs/${encodeURIComponent(aliceFleet.run('triage-acme-large-1'))}`];

  it('needs a query or admin key: none → 401, unknown → 401, ingest key → 403', async () => {
    await expectQueryKeyRequired(client, alice, paths());
  });

  it("never shows another tenant's outcomes, waste or runs", async () => {
    const ue = await client.get(`/v1/unit-economics?${range}`, bob.query);
    expect(ue.json.totals).toMatchObject({ outcomes: bobOutcomes.length, token_cost_usd: economics(bobOutcomes).token_cost_usd });
    const mu = await client.get(`/v1/marginal-utility?${range}`, bob.query);
    expect((mu.json.rows as { outcomes: number }[])[0]?.outcomes).toBe(bobOutcomes.filter((o) => o.attempts > 0).length);
    const waste = await client.get(`/v1/waste?${range}`, bob.query);
    expect(waste.json).toMatchObject({ retry_tax_with_outcome_usd: nanosToDecimal(sum(bobOutcomes, (o) => o.retryTax)), routing_candidates: [] });
    // Alice's run is not there for Bob, nor Bob's for Alice.
    expect((await client.get(`/v1/runs/${encodeURIComponent(aliceFleet.run('triage-acme-large-1'))}`, bob.query)).status).toBe(404);
    expect((await client.get(`/v1/runs/${encodeURIComponent(bobFleet.run('triage-acme-large-1'))}`, alice.query)).status).toBe(404);
    expect((await client.get(`/v1/runs/${encodeURIComponent(bobFleet.run('triage-acme-large-1'))}`, bob.query)).status).toBe(200);
  });

  it('lists the outcome endpoints in the OpenAPI document', async () => {
    const r = await client.get('/openapi.json');
    expect(Object.keys(r.json.paths as object)).toEqual(expect.arrayContaining(['/v1/unit-economics', '/v1/marginal-utility', '/v1/waste', '/v1/runs/{run_id}']));
  });
});
