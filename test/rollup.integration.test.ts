import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickHouseTime, type ClickHouseClient } from '@tokenledger/infra';
import { nanosToDecimal } from '@tokenledger/schemas';
import { eventually, openMigratedStore, testEnv } from './src/harness.js';
import { keyRingOf, startTestApi, tenantKeys } from './src/api-harness.js';
import { rollUpOutcomeHoursSql, stageMembersSql } from '@tokenledger/api';

/**
 * The hourly usage rollup (usage_hourly) serves the same numbers as the facts: one api reads
 * through the rollup (its job run by hand), another with API_ROLLUP_READ=false reads the facts
 * (the reference), over the same ClickHouse. Facts are written as the attributor writes them,
 * duplicates included (a redelivered event is a second row of the same event id, written later).
 */
const env = testEnv('rollup');
const tenant = tenantKeys('roll');
const other = tenantKeys('other');
let clickhouse: ClickHouseClient;
let rolled: Awaited<ReturnType<typeof startTestApi>>;
let live: Awaited<ReturnType<typeof startTestApi>>;

const H = 3_600_000;
const t0 = Date.UTC(2026, 9, 5, 0, 0, 0);
const models = ['acme-large', 'acme-small', 'zeta-1'];
const projects = ['search', 'billing', 'support', '(unattributed)'];

interface Fact {
  event_id: string;
  occurred_at: number;
  model: string;
  project: string;
  split?: string;
  nanos: bigint;
  unpriced?: boolean;
  input?: number;
  /** Run, step, attempt and status of the call (default: a run of its own, one ok attempt). */
  run?: string;
  step?: string;
  attempt?: number;
  status?: string;
}

/** A usage_facts row as the attributor writes it (the columns the api reads). */
function row(tenantId: string, projection: number, f: Fact) {
  const first = f.split ? (f.nanos * 6n) / 10n : f.nanos;
  return {
    tenant_id: tenantId, projection, event_id: f.event_id, occurred_at: clickHouseTime(f.occurred_at), received_at: clickHouseTime(f.occurred_at),
    provider: f.model.split('-')[0], model: f.model, operation: 'chat', run_id: f.run ?? `run-${f.event_id.slice(0, 6)}`, step: f.step ?? 's', attempt: f.attempt ?? 1, status: f.status ?? 'ok',
    workflow: `wf-${f.project}`, agent: 'agent', user_id: 'u1', input_tokens: f.input ?? 100, output_tokens: 10, cached_input_tokens: 5, reasoning_tokens: 1,
    cost_usd: nanosToDecimal(f.nanos), price_status: f.unpriced ? 'unpriced' : 'priced', attribution_tier: f.project === '(unattributed)' ? 'unattributed' : 'explicit',
    'alloc.project': f.split ? [f.project, f.split] : [f.project],
    'alloc.investment': f.split ? ['', 'inv-core'] : [f.model === 'zeta-1' ? 'inv-zeta' : ''],
    'alloc.cost_center': f.split ? [`cc-${f.project}`, `cc-${f.split}`] : [`cc-${f.project}`],
    'alloc.team': f.split ? ['a', 'b'] : ['a'],
    'alloc.capex_class': f.split ? ['opex', 'capex'] : ['opex'],
    'alloc.capex_reason': f.split ? ['', ''] : [''],
    'alloc.cost_usd': f.split ? [nanosToDecimal(first), nanosToDecimal(f.nanos - first)] : [nanosToDecimal(f.nanos)],
  };
}

async function write(tenantId: string, projection: number, facts: Fact[]): Promise<void> {
  await clickhouse.insert({ table: 'usage_facts', values: facts.map((f) => row(tenantId, projection, f)), format: 'JSONEachRow' });
}

/** Facts over 3 days, several per hour, at odd milliseconds. */
function fleet(prefix: string, n: number): Fact[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `${prefix}-${i}`,
    occurred_at: t0 + Math.floor((i * 72 * H) / n) + (i % 997),
    model: models[i % 3]!,
    project: projects[i % 4]!,
    ...(i % 5 === 0 ? { split: 'core' } : {}),
    nanos: 1_000_000_007n * BigInt(1 + (i % 13)) + BigInt(i),
    unpriced: i % 17 === 0,
    input: 50 + i,
  }));
}

/**
 * Runs of several calls (3 steps, some retried, some failed) spread over up to 9 hours, so ranges
 * cut through them; costs tie often, so the order by run id counts.
 */
function runFleet(prefix: string, runs: number): Fact[] {
  return Array.from({ length: runs }, (_, r) => Array.from({ length: 3 + (r % 4) }, (_, c) => ({
    event_id: `${prefix}-${r}-${c}`,
    occurred_at: t0 + Math.floor((r * 70 * H) / runs) + c * (r % 3) * 1_800_000 + (r % 7),
    model: models[(r + c) % 3]!,
    project: projects[r % 4]!,
    nanos: 1_000_000_000n * BigInt(1 + ((r * c) % 3)),
    run: `${prefix}-run-${r % 50}-${Math.floor(r / 50)}`,
    step: `s${c % 3}`,
    attempt: 1 + Math.floor(c / 3),
    status: (r + c) % 11 === 0 ? 'error' : 'ok',
  }))).flat();
}

const ranges = [
  ['whole', `from=${new Date(t0 - 24 * H).toISOString()}&to=${new Date(t0 + 96 * H).toISOString()}`],
  ['odd edges', `from=${new Date(t0 + 5 * H + 1_234).toISOString()}&to=${new Date(t0 + 50 * H + 777).toISOString()}`],
  ['across months', `from=${new Date(Date.UTC(2026, 8, 30, 21, 0, 0, 500)).toISOString()}&to=${new Date(t0 + 30 * H + 5).toISOString()}`],
  ['within an hour', `from=${new Date(t0 + 7 * H + 100).toISOString()}&to=${new Date(t0 + 7 * H + 1_800_000).toISOString()}`],
  ['whole hours inside the data', `from=${new Date(t0 + 10 * H).toISOString()}&to=${new Date(t0 + 40 * H).toISOString()}`],
] as const;
const spendQueries = [
  'group_by=project&interval=day', 'group_by=project,model&interval=hour', 'group_by=model,provider', 'group_by=team,capex_class,cost_center&interval=week',
  'group_by=workflow,agent,attribution_tier&interval=month', 'group_by=investment', '',
];

const topRunsQueries = ['by=retry_tax&limit=7', 'by=retry_tax&limit=500', 'by=cost&limit=3', 'by=cost&limit=500'];
const unitEconomicsQueries = ['group_by=outcome_type', 'group_by=project,outcome_type', 'outcome_type=ticket_resolved&group_by=project', ''];

/** Rows sorted by every field, so groups tied on cost compare regardless of their order. */
function canonical(json: Record<string, unknown>): unknown {
  const rows = (json.rows as Record<string, unknown>[] | undefined)?.map((r) => JSON.stringify(Object.entries(r).sort())).sort();
  return { ...json, ...(rows ? { rows } : {}) };
}

/** Every spend, unit economics, waste, capitalization and top-runs query answers the same through the rollups as from the facts. */
async function expectSameAnswers(what: string): Promise<void> {
  for (const [name, range] of ranges) {
    for (const q of spendQueries) {
      const path = `/v1/spend?${q}${q ? '&' : ''}${range}`;
      const [a, b] = await Promise.all([rolled.get(path, tenant.query), live.get(path, tenant.query)]);
      expect(a.status, `${what}: ${name}: ${path}: ${a.text}`).toBe(200);
      expect(canonical(a.json), `${what}: ${name}: ${path}`).toEqual(canonical(b.json));
    }
    for (const path of [
      `/v1/waste?${range}`, `/v1/waste?min_outcomes=1&acceptance_tolerance=1&${range}`, `/v1/capitalization?${range}`,
      ...topRunsQueries.map((q) => `/v1/top-runs?${q}&${range}`), ...unitEconomicsQueries.map((q) => `/v1/unit-economics?${q}&${range}`),
    ]) {
      const [a, b] = await Promise.all([rolled.get(path, tenant.query), live.get(path, tenant.query)]);
      expect(a.status, `${what}: ${path}: ${a.text}`).toBe(200);
      expect(a.json, `${what}: ${name}: ${path}`).toEqual(b.json);
    }
  }
}

async function count(query: string, params: Record<string, unknown> = {}): Promise<number> {
  const [r] = await (await clickhouse.query({ query: `SELECT count() AS n FROM ${query}`, query_params: params, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(r?.n ?? 0);
}

beforeAll(async () => {
  clickhouse = await openMigratedStore(env);
  const keys = keyRingOf(tenant, other);
  // The job runs only when the test says so (runOnce); facts are rolled up as soon as written.
  rolled = await startTestApi({ ...env, API_GOVERNANCE_EVALUATOR: 'false', API_ROLLUP_INTERVAL_MS: '3600000', API_ROLLUP_VISIBILITY_LAG_MS: '0' }, clickhouse, keys);
  live = await startTestApi({ ...env, API_GOVERNANCE_EVALUATOR: 'false', API_ROLLUP: 'false', API_ROLLUP_READ: 'false' }, clickhouse, keys);
  await write(tenant.tenantId, 1, [...fleet('e', 400), ...runFleet('r', 300)]);
  // Calls late in September, so ranges cross a month (capitalization's and spend's months).
  await write(tenant.tenantId, 1, fleet('sep', 40).map((f, i) => ({ ...f, occurred_at: Date.UTC(2026, 8, 30, 21, 0, 0, 7) + i * 330_001 })));
  await write(other.tenantId, 1, fleet('o', 50));
});

afterAll(async () => {
  await rolled?.api.stop();
  await live?.api.stop();
  await clickhouse?.close();
});

describe('hourly usage rollup', () => {
  it('answers like the facts before its first pass, and after it from the rolled-up hours', async () => {
    await expectSameAnswers('before any pass');
    const passes = await rolled.api.rollup!.runOnce();
    expect(passes).toEqual([expect.objectContaining({ projection: 1 })]);
    expect(passes[0]!.hours).toBeGreaterThan(72);
    expect(await count('usage_hourly WHERE tenant_id = {t:String}', { t: tenant.tenantId })).toBeGreaterThan(0);
    await expectSameAnswers('after a pass');
    // Capitalization read through the rollup: both months, capex split off, investments apart.
    const cap = await rolled.get(`/v1/capitalization?${ranges[2][1]}`, tenant.query);
    const capRows = cap.json.rows as { month: string; investment: string; capex_usd: string }[];
    expect(new Set(capRows.map((r) => r.month))).toEqual(new Set(['2026-09', '2026-10']));
    expect(new Set(capRows.map((r) => r.investment))).toEqual(new Set(['', 'inv-core', 'inv-zeta']));
    expect(capRows.find((r) => r.month === '2026-10' && r.investment === 'inv-core')?.capex_usd).not.toBe('0');
  });

  it('counts a redelivered event once, rolled up or not', async () => {
    // Redelivery: the same events written again, later (identical content).
    const again = fleet('e', 400).filter((_, i) => i % 9 === 0);
    await write(tenant.tenantId, 1, again);
    await expectSameAnswers('duplicates not yet rolled up');
    await rolled.api.rollup!.runOnce();
    await expectSameAnswers('duplicates rolled up');
    // Still duplicated in the facts (no merge forced), yet counted once.
    expect(await count('usage_facts WHERE tenant_id = {t:String}', { t: tenant.tenantId })).toBeGreaterThan(400);
  });

  it('serves late events and rewritten facts in already rolled-up hours exactly, before and after the next pass', async () => {
    // A late event in a rolled-up hour, and an event recomputed with another project and model
    // (its old group vanishes from that hour).
    const late: Fact = { event_id: 'late-1', occurred_at: t0 + 10 * H + 5, model: 'acme-large', project: 'search', nanos: 123_456_789n };
    const [moved] = fleet('e', 400).slice(3, 4);
    await write(tenant.tenantId, 1, [late, { ...moved!, model: 'omega-9', project: 'brand-new', split: undefined, nanos: 42n }]);
    await expectSameAnswers('late and rewritten, not yet rolled up');
    await rolled.api.rollup!.runOnce();
    await expectSameAnswers('late and rewritten, rolled up');
    const spend = await rolled.get(`/v1/spend?group_by=model&${ranges[0][1]}`, tenant.query);
    expect((spend.json.rows as { model: string }[]).map((r) => r.model)).toContain('omega-9');
  });

  it('ranks runs exactly when a rolled-up run gets a late retry, a redelivered call and an outcome', async () => {
    await rolled.api.rollup!.runOnce();
    const runs = runFleet('r', 300);
    const target = runs.find((f) => f.run === 'r-run-3-0')!;
    // Redelivered calls of many runs, a late retry of one step (its first attempt turns retry tax),
    // and a late call far after the run that stretches it across the ranges' ends.
    await write(tenant.tenantId, 1, [
      ...runs.filter((_, i) => i % 13 === 0),
      { ...target, event_id: 'r-late-retry', attempt: 9, nanos: 7n, occurred_at: target.occurred_at + 1 },
      { ...target, event_id: 'r-late-far', nanos: 3n, occurred_at: t0 + 60 * H },
    ]);
    // Two rows of one outcome claiming the run: the later one (accepted) is its state. Written
    // one after the other, as the joiner writes them (computed_at is the time of writing).
    const outcome = (status: string) => ({
      tenant_id: tenant.tenantId, projection: 1, outcome_id: 'out-1', outcome_type: 'ticket_resolved', status,
      occurred_at: clickHouseTime(t0 + 30 * H), first_occurred_at: clickHouseTime(t0 + 30 * H), event_count: 1, run_ids: ['r-run-3-0'],
      calls: 1, attempts: 1, cost_usd: '1', retry_tax_usd: '0',
    });
    await clickhouse.insert({ table: 'outcome_facts', values: [outcome('rejected')], format: 'JSONEachRow' });
    await clickhouse.insert({ table: 'outcome_facts', values: [outcome('accepted')], format: 'JSONEachRow' });
    await expectSameAnswers('late calls not yet rolled up');
    await rolled.api.rollup!.runOnce();
    await expectSameAnswers('late calls rolled up');
    const top = await rolled.get(`/v1/top-runs?by=cost&limit=500&${ranges[0][1]}`, tenant.query);
    const run = (top.json.rows as { run_id: string; outcome_status: string | null; last_at: string }[]).find((r) => r.run_id === 'r-run-3-0');
    expect(run).toEqual(expect.objectContaining({ outcome_status: 'accepted', last_at: new Date(t0 + 60 * H).toISOString().replace('.000', '') }));
    expect(await count('run_totals WHERE tenant_id = {t:String}', { t: tenant.tenantId })).toBeGreaterThan(300);
  });

  it('ranks runs exactly while run_totals holds stale versions: a lower latest, one across a range end, many of one run', async () => {
    await rolled.api.rollup!.runOnce();
    // Older versions stay until a merge: none during this test, so the reads below meet them.
    await clickhouse.command({ query: 'SYSTEM STOP MERGES run_totals' });
    try {
      // The runs' latest versions (whole runs): the stale rows below are older versions of them.
      const latest = await (await clickhouse.query({
        query: `SELECT run_id, toString(first_at) AS first_at, toString(last_at) AS last_at, calls, toString(cost_usd) AS cost_usd
                FROM run_totals FINAL WHERE tenant_id = {t:String} AND projection = 1 ORDER BY run_id`,
        query_params: { t: tenant.tenantId }, format: 'JSONEachRow',
      })).json<{ run_id: string; first_at: string; last_at: string; calls: string; cost_usd: string }>();
      const oddFrom = t0 + 5 * H + 1_234;
      const inOdd = (t: string) => ((at) => at >= oddFrom && at < t0 + 50 * H + 777)(Date.parse(`${t.replace(' ', 'T')}Z`));
      const [lowered, across, piled] = [
        latest.find((r) => r.run_id.startsWith('r-run-'))!,
        latest.find((r) => r.run_id.startsWith('r-run-') && inOdd(r.first_at) && inOdd(r.last_at))!,
        latest.find((r) => r.run_id.startsWith('run-e-'))!,
      ];
      expect(new Set([lowered.run_id, across.run_id, piled.run_id]).size).toBe(3);
      const stale = (r: (typeof latest)[number], version: number, changes: Record<string, string>) => ({
        tenant_id: tenant.tenantId, projection: 1, run_id: r.run_id, first_at: r.first_at, last_at: r.last_at, calls: r.calls,
        cost_usd: r.cost_usd, retry_tax_usd: '0', version, ...changes,
      });
      const answers = async (what: string, paths: string[]) => {
        for (const [name, range] of ranges) {
          for (const path of paths.map((q) => `/v1/top-runs?${q}&${range}`)) {
            const [a, b] = await Promise.all([rolled.get(path, tenant.query), live.get(path, tenant.query)]);
            expect(a.status, `${what}: ${path}: ${a.text}`).toBe(200);
            expect(a.json, `${what}: ${name}: ${path}`).toEqual(b.json);
          }
        }
      };
      const onePerOrder = ['by=retry_tax&limit=1', 'by=cost&limit=1'];

      // An older version of one run with a retry tax above any run's (its latest is lower): read
      // without FINAL it ranks first, and only the check against its latest version leaves it out.
      // An older version of another run starting before the odd-edges range: the run is computed
      // live there, and served from the rollup too unless the live entry wins.
      await clickhouse.insert({
        table: 'run_totals', format: 'JSONEachRow',
        values: [stale(lowered, 1, { retry_tax_usd: '999' }), stale(across, 1, { first_at: clickHouseTime(oddFrom - H) })],
      });
      await expectSameAnswers('a stale version with a higher retry tax, one across a range end');
      await answers('a stale version with a higher retry tax, one across a range end', onePerOrder);
      const top = await rolled.get(`/v1/top-runs?by=retry_tax&limit=7&${ranges[0][1]}`, tenant.query);
      expect((top.json.rows as { retry_tax_usd: string }[]).map((r) => r.retry_tax_usd)).not.toContain('999');

      // 40 older versions of one run above every run: with limit=1 (36 rows read) no row read is a
      // latest version, so top runs cannot tell the top from them and reads the rollup with FINAL.
      // (One insert: optimize_on_insert would keep only its latest version of the run.)
      await clickhouse.insert({
        table: 'run_totals', format: 'JSONEachRow', clickhouse_settings: { optimize_on_insert: 0 },
        values: Array.from({ length: 40 }, (_, i) => stale(piled, 2 + i, { cost_usd: `${5_000 + i}`, retry_tax_usd: `${5_000 + i}` })),
      });
      expect(await count('run_totals WHERE tenant_id = {t:String} AND run_id = {r:String}', { t: tenant.tenantId, r: piled.run_id })).toBeGreaterThanOrEqual(41);
      await expectSameAnswers('40 stale versions of one run above every run');
      await answers('40 stale versions of one run above every run', [...onePerOrder, 'by=retry_tax&limit=3', 'by=cost&limit=10']);
    } finally {
      await clickhouse.command({ query: 'SYSTEM START MERGES run_totals' });
    }
  });

  it('routes outcomes alike from the primary pair the joiner stores and, for older rows, from their usage', async () => {
    // Runs no earlier test rewrote (r-run-3-0 got late calls), so their calls are runFleet's.
    const calls = runFleet('r', 300).filter((f) => f.run !== 'r-run-3-0');
    const byRun = new Map<string, Fact[]>();
    for (const f of calls) byRun.set(f.run!, [...(byRun.get(f.run!) ?? []), f]);
    const runIds = [...byRun.keys()].sort();
    // One outcome per run, and every seventh claiming the next run too.
    const outcomes = runIds.map((run, i) => {
      const runs = i % 7 === 0 && runIds[i + 1] ? [run, runIds[i + 1]!] : [run];
      const mine = runs.flatMap((r) => byRun.get(r)!);
      const spend = new Map<string, bigint>();
      for (const c of mine) spend.set(`${`wf-${c.project}`}\n${c.model}`, (spend.get(`wf-${c.project}\n${c.model}`) ?? 0n) + c.nanos);
      // Most spent, ties to the greater workflow then model (ASCII names: code-unit order is byte order).
      const [pair] = [...spend].sort(([ka, a], [kb, b]) => (a === b ? (ka < kb ? 1 : -1) : a > b ? -1 : 1))[0]!;
      const [workflow, model] = pair.split('\n') as [string, string];
      const at = Math.max(...mine.map((c) => c.occurred_at));
      return { id: `route-${i}`, runs, workflow, model, at, cost: mine.reduce((sum, c) => sum + c.nanos, 0n), accepted: i % 3 !== 0 };
    });
    const outcomeRow = (o: (typeof outcomes)[number], stored: boolean) => ({
      tenant_id: tenant.tenantId, projection: 1, outcome_id: o.id, outcome_type: 'ticket_resolved', status: o.accepted ? 'accepted' : 'rejected',
      occurred_at: clickHouseTime(o.at), first_occurred_at: clickHouseTime(o.at), event_count: 1, run_ids: o.runs, calls: 1, attempts: 1,
      cost_usd: nanosToDecimal(o.cost), retry_tax_usd: '0',
      ...(stored ? { primary_workflow: o.workflow, primary_model: o.model, primary_known: 1 } : {}),
    });
    const waste = async () => Promise.all(ranges.map(async ([, range]) => {
      const path = `/v1/waste?min_outcomes=1&acceptance_tolerance=1&${range}`;
      const [a, b] = await Promise.all([rolled.get(path, tenant.query), live.get(path, tenant.query)]);
      expect(a.json).toEqual(b.json);
      return a.json;
    }));
    // Rows from before the joiner stored pairs: routed from their usage.
    await clickhouse.insert({ table: 'outcome_facts', values: outcomes.map((o) => outcomeRow(o, false)), format: 'JSONEachRow' });
    const fromUsage = await waste();
    expect((fromUsage[0]!.routing_candidates as unknown[]).length).toBeGreaterThan(0);
    // Half rewritten by the joiner with their pair, then all: the same answers.
    await clickhouse.insert({ table: 'outcome_facts', values: outcomes.filter((_, i) => i % 2 === 0).map((o) => outcomeRow(o, true)), format: 'JSONEachRow' });
    expect(await waste()).toEqual(fromUsage);
    await clickhouse.insert({ table: 'outcome_facts', values: outcomes.filter((_, i) => i % 2 === 1).map((o) => outcomeRow(o, true)), format: 'JSONEachRow' });
    expect(await waste()).toEqual(fromUsage);
    expect(await count('outcome_facts FINAL WHERE tenant_id = {t:String} AND primary_known = 1', { t: tenant.tenantId })).toBe(outcomes.length);
  });

  it('serves unit economics and waste from the hourly outcome rollup exactly, as outcomes arrive, move to other hours and change', async () => {
    const types = ['ticket_resolved', 'claim_processed', 'pr_merged'];
    const statuses = ['accepted', 'accepted', 'rejected', 'reworked', 'escalated'];
    interface Outcome { id: string; at: number; status: string; cost: bigint; project: string; workflow: string; model: string }
    const outcomeRow = (o: Outcome, i: number) => ({
      tenant_id: tenant.tenantId, projection: 1, outcome_id: o.id, outcome_type: types[i % 3], status: o.status,
      occurred_at: clickHouseTime(o.at), first_occurred_at: clickHouseTime(o.at - 5_000), event_count: 1, run_ids: [`${o.id}-run`],
      calls: 3, attempts: i % 4, failed_attempts: 0, first_pass: i % 3 === 0, cost_usd: nanosToDecimal(o.cost), retry_tax_usd: nanosToDecimal(o.cost / 7n),
      human_milliminutes: i % 5 === 0 ? null : 1_500 * i, human_cost_usd: i % 5 === 0 ? null : nanosToDecimal(1_000_003n * BigInt(i)),
      baseline_cost_usd: i % 6 === 0 ? null : '4.25', value_usd: i % 4 === 1 ? null : nanosToDecimal(9_000_000_011n + BigInt(i)),
      tags: { project: o.project }, primary_workflow: o.workflow, primary_model: o.model, primary_known: i % 9 === 0 ? 0 : 1,
    });
    const write = async (list: Outcome[]) => clickhouse.insert({ table: 'outcome_facts', values: list.map((o) => outcomeRow(o, Number(o.id.split('-')[1]))), format: 'JSONEachRow' });
    const fleet: Outcome[] = Array.from({ length: 240 }, (_, i) => ({
      id: `uo-${i}`, at: t0 + Math.floor((i * 70 * H) / 240) + (i % 13) * 61_001, status: statuses[i % 5]!, cost: 1_000_000_000n * BigInt(1 + (i % 7)) + BigInt(i),
      project: projects[i % 4]!, workflow: `wf-${projects[(i + 1) % 4]}`, model: models[i % 3]!,
    }));
    await write(fleet);
    await expectSameAnswers('outcomes not yet rolled up');
    const [pass] = await rolled.api.rollup!.runOnce();
    expect(pass!.outcomeHours).toBeGreaterThan(60);
    await expectSameAnswers('outcomes rolled up');

    // Later events: outcomes move to another hour (some across the ranges' ends, one to September),
    // change status and cost; one hour is left without any outcome; a new outcome arrives.
    const moved = fleet.filter((_, i) => i % 10 === 0).map((o, k) => ({
      ...o, at: k === 0 ? Date.UTC(2026, 8, 30, 23, 30) : o.at + (k % 3 === 0 ? 26 * H : 3 * H + 17), status: 'accepted', cost: o.cost + 5n,
    }));
    await write([...moved, { ...fleet[1]!, id: 'uo-999', at: t0 + 7 * H + 900_000 }]);
    await expectSameAnswers('moved, not yet rolled up');
    await rolled.api.rollup!.runOnce();
    await expectSameAnswers('moved and rolled up');
    // And back again, then a pass with nothing new.
    await write(moved.filter((_, k) => k % 2 === 0).map((o) => ({ ...o, at: o.at - 2 * H, status: 'rejected' })));
    await expectSameAnswers('moved back, not yet rolled up');
    await rolled.api.rollup!.runOnce();
    await rolled.api.rollup!.runOnce();
    await expectSameAnswers('moved back and rolled up');

    // A pass that crashed after staging and summing some hours (their version never recorded, nor
    // its watermark), while outcomes moved: its rows are never read, and the next pass is exact.
    const crashed = moved.filter((_, k) => k % 2 === 1).map((o) => ({ ...o, at: o.at + 5 * H, status: 'abandoned' }));
    await write(crashed);
    const hours = [...new Set(crashed.map((o) => clickHouseTime(Math.floor(o.at / H) * H).slice(0, 19)))];
    const params = { tenant: tenant.tenantId, projection: 1, version: String(Date.now() * 1000), hours };
    await clickhouse.command({ query: stageMembersSql, query_params: params });
    await clickhouse.command({ query: rollUpOutcomeHoursSql, query_params: params });
    await expectSameAnswers('after a crashed pass');
    await rolled.api.rollup!.runOnce();
    await expectSameAnswers('after a crashed pass and the next');
    const ue = await rolled.get(`/v1/unit-economics?group_by=outcome_type&${ranges[0][1]}`, tenant.query);
    expect((ue.json.totals as { outcomes: number }).outcomes).toBeGreaterThanOrEqual(240);
    expect(await count('outcome_hourly WHERE tenant_id = {t:String}', { t: tenant.tenantId })).toBeGreaterThan(0);
  });

  it('keeps tenants apart', async () => {
    const path = `/v1/spend?group_by=project&${ranges[0][1]}`;
    const [a, b] = await Promise.all([rolled.get(path, other.query), live.get(path, other.query)]);
    expect(a.json).toEqual(b.json);
    expect((a.json.totals as { calls: number }).calls).toBe(50);
  });

  it('stays exact across a replay switch: the new projection is served live until rolled up, then from its rollup', async () => {
    // A replay builds projection 2 (different numbers) while 1 is served, then switches.
    await clickhouse.insert({ table: 'projections', values: [{ projection: 2, state: 'building', note: 'test replay' }], format: 'JSONEachRow' });
    await write(tenant.tenantId, 2, fleet('e', 400).map((f) => ({ ...f, nanos: f.nanos * 2n })));
    await rolled.api.rollup!.runOnce();
    // Building projections are not rolled up (a replay from a date copies facts with their old written_at).
    expect(await count("rollup_progress WHERE projection = 2")).toBe(0);
    await expectSameAnswers('during the replay');
    const before = await rolled.get(`/v1/spend?${ranges[0][1]}`, tenant.query);

    await clickhouse.insert({
      table: 'projections',
      values: [{ projection: 2, state: 'serving', note: 'test replay' }, { projection: 1, state: 'retired', note: 'replaced by 2' }],
      format: 'JSONEachRow',
    });
    // Both apis re-read the served projection every second.
    await eventually(async () => {
      const [a, b] = await Promise.all([rolled.get(`/v1/spend?${ranges[0][1]}`, tenant.query), live.get(`/v1/spend?${ranges[0][1]}`, tenant.query)]);
      return a.text !== before.text && b.text !== before.text ? true : undefined;
    }, 10_000, 'the switch seen');
    await expectSameAnswers('after the switch, projection 2 not rolled up yet');
    const passes = await rolled.api.rollup!.runOnce();
    expect(passes.map((p) => p.projection)).toEqual([2]);
    await expectSameAnswers('after the switch, projection 2 rolled up');
    await write(tenant.tenantId, 2, [{ event_id: 'late-2', occurred_at: t0 + 20 * H + 9, model: 'zeta-1', project: 'billing', nanos: 5n }]);
    await expectSameAnswers('a late event in projection 2');
  });
});
