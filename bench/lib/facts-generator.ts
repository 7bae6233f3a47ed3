/**
 * Usage and outcome facts made directly in ClickHouse (INSERT ... SELECT FROM numbers(n)), as
 * the attributor and the outcome-joiner would have written them for a month of a fleet: runs of
 * 7 calls over 30 days, 5 models at their list prices, 8 workflows with their projects,
 * attribution tiers and capitalization classes, 10% of calls split between two projects, 3%
 * failed calls, 10% of runs retrying steps, 0.5% unpriced. Outcomes are built from the runs'
 * usage (one outcome per run for a share of the runs); the other runs older than the horizon
 * are spend with no outcome. All in projection 1, the served one.
 */
import type { ClickHouseClient } from '@tokenledger/infra';

/** Calls per run. */
export const CALLS_PER_RUN = 7;
const DAY_MS = 86_400_000;

export interface GeneratedFacts {
  usage: number;
  runs: number;
  outcomes: number;
  noOutcomeRuns: number;
  from: number;
  to: number;
  /** Active parts per table after the inserts: FINAL merges across them at query time. */
  parts: Record<string, number>;
}

const WORKFLOWS = ['support-triage', 'claims-intake', 'code-review', 'billing-assistant', 'research-digest', 'sales-outreach', 'contract-review', 'data-cleanup'];
const PROJECTS = ['support-bot', 'claims-ai', 'core-platform', 'billing', '(unattributed)', 'growth-tools', 'payments', 'data-platform'];
const INVESTMENTS = ['', 'ops-automation', '', '', '', '', 'payments-v2', ''];
const TEAMS = ['support', 'ops', 'platform', 'finance', '', 'growth', 'payments', 'data'];
const TIERS = ['explicit', 'explicit', 'prompt', 'prompt', 'unattributed', 'person', 'explicit', 'person'];
const CAPEX = ['opex', 'capex', 'capex', 'opex', 'opex', 'opex', 'capex', 'opex'];
/** provider, model, nano-dollars per input token and per output token (list USD per million tokens × 1,000). */
const MODELS: [string, string, number, number][] = [
  ['openai', 'gpt-4o', 2_500, 10_000],
  ['openai', 'gpt-4o-mini', 150, 600],
  ['anthropic', 'claude-sonnet-4', 3_000, 15_000],
  ['anthropic', 'claude-3-5-haiku', 800, 4_000],
  ['google', 'gemini-2.5-flash', 300, 2_500],
];
/** Share of runs per model, in twentieths: gpt-4o 8, mini 3, sonnet 5, haiku 2, flash 2. */
const MODEL_BY_TWENTIETH = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 4, 4];
const OUTCOME_TYPES = ['ticket_resolved', 'claim_processed', 'pr_merged', 'invoice_explained'];

const list = (items: readonly (string | number)[]) => `[${items.map((i) => (typeof i === 'number' ? String(i) : `'${i}'`)).join(', ')}]`;
/** Nano-dollars (an integer expression) as Decimal(38, 9), exactly. */
const usd = (nanos: string) => `toDecimal128(${nanos}, 9) / 1000000000`;

const usageSql = `
INSERT INTO usage_facts (
  tenant_id, projection, event_id, occurred_at, received_at, provider, model, operation, run_id, trace_id, span_id, parent_span_id,
  attempt, status, workflow, agent, step, user_id, tags, latency_ms, input_tokens, output_tokens, cached_input_tokens,
  cache_write_tokens, reasoning_tokens, cost_usd, input_cost_usd, cached_input_cost_usd, cache_write_cost_usd, output_cost_usd,
  request_cost_usd, reported_cost_usd, price_status, price_source, price_ref, attribution_tier, attribution_rule, system_prompt_id,
  prompt_fingerprint, \`alloc.project\`, \`alloc.investment\`, \`alloc.cost_center\`, \`alloc.team\`, \`alloc.capex_class\`,
  \`alloc.capex_reason\`, \`alloc.cost_usd\`, rules_version, prices_version, source_partition, source_offset)
SELECT
  {tenant:String}, 1, concat(run_id, ':', toString(i)), occurred, occurred + toIntervalMillisecond(150 + h % 400),
  MODELS[mi].1, MODELS[mi].2, 'chat', run_id, lower(hex(cityHash64(r, 4))), lower(hex(h)), '',
  attempt, status, WORKFLOWS[wi], concat(WORKFLOWS[wi], '-agent-', toString(rh % 2)), step, concat('u-', toString(cityHash64(r, 2) % 200)),
  if(TIERS[wi] = 'explicit', map('project', PROJECTS[wi], 'env', 'prod'), map('env', 'prod')),
  200 + h % 5000, input, output, cached, 0, reasoning,
  ${usd('cost_n')}, ${usd('input_n')}, ${usd('cached_n')}, ${usd('0')}, ${usd('output_n')}, ${usd('0')}, NULL,
  if(unpriced, 'unpriced', 'priced'), if(unpriced, '', 'catalog'), if(unpriced, '', concat(MODELS[mi].1, '/', MODELS[mi].2, '@2026-10')),
  TIERS[wi], if(TIERS[wi] = 'prompt', 'ticket-prefix', ''), '', '',
  if(split, [PROJECTS[wi], 'core-platform'], [PROJECTS[wi]]),
  if(split, [INVESTMENTS[wi], ''], [INVESTMENTS[wi]]),
  if(split, [concat('cc-', TEAMS[wi]), 'cc-platform'], [concat('cc-', TEAMS[wi])]),
  if(split, [TEAMS[wi], 'platform'], [TEAMS[wi]]),
  if(split, [CAPEX[wi], 'capex'], [CAPEX[wi]]),
  if(split, [if(CAPEX[wi] = 'capex', 'asc350-40:application_development', 'opex:project_class'), 'asc350-40:application_development'],
            [if(CAPEX[wi] = 'capex', 'asc350-40:application_development', 'opex:project_class')]),
  if(split, [${usd('first_n')}, ${usd('cost_n - first_n')}], [${usd('cost_n')}]),
  1, 1, n % 6, n
FROM (
  SELECT
    ${list(WORKFLOWS)} AS WORKFLOWS, ${list(PROJECTS)} AS PROJECTS, ${list(INVESTMENTS)} AS INVESTMENTS, ${list(TEAMS)} AS TEAMS,
    ${list(TIERS)} AS TIERS, ${list(CAPEX)} AS CAPEX,
    [${MODELS.map(([p, m, i, o]) => `('${p}', '${m}', ${i}, ${o})`).join(', ')}] AS MODELS,
    number AS n, intDiv(number, ${CALLS_PER_RUN}) AS r, number % ${CALLS_PER_RUN} AS i,
    cityHash64(r) AS rh, cityHash64(number, 7) AS h,
    concat('run-', lower(hex(cityHash64(r, 3)))) AS run_id,
    1 + ${list(MODEL_BY_TWENTIETH)}[1 + rh % 20] AS mi,
    1 + cityHash64(r, 1) % 8 AS wi,
    rh % 10 = 0 AS retrying,
    if(retrying, concat('step-', toString(intDiv(i, 2))), concat('step-', toString(i))) AS step,
    toUInt16(if(retrying, i % 2 + 1, 1)) AS attempt,
    if(h % 100 < 3, 'error', 'ok') AS status,
    h % 10 = 1 AS split,
    h % 1000 < 5 AS unpriced,
    fromUnixTimestamp64Milli(toInt64({start:Int64} + r * {step_ms:Float64} + i * 4000), 'UTC') AS occurred,
    toUInt64(exp(log(200) + (cityHash64(number, 5) % 1000000) / 1000000 * log(100))) AS input,
    toUInt64(exp(log(20) + (cityHash64(number, 6) % 1000000) / 1000000 * log(100))) AS output,
    if(MODELS[mi].1 = 'google', 0, intDiv(input * (h % 60), 100)) AS cached,
    if(MODELS[mi].1 = 'google', output * 2, 0) AS reasoning,
    if(unpriced, 0, (input - cached) * MODELS[mi].3) AS input_n,
    if(unpriced, 0, cached * intDiv(MODELS[mi].3, 10)) AS cached_n,
    if(unpriced, 0, (output + reasoning) * MODELS[mi].4) AS output_n,
    input_n + cached_n + output_n AS cost_n,
    intDiv(cost_n * 6, 10) AS first_n
  FROM numbers({facts:UInt64})
)`;

/** One row per run, from the usage facts: what the joiner would have worked out. */
const runsSql = `
CREATE TABLE bench_runs ENGINE = Memory AS
SELECT run_id, count() AS r_calls, max(attempt) AS r_attempts, countIf(status != 'ok') AS r_failed,
       sum(input_tokens) AS r_input, sum(output_tokens) AS r_output, sum(cached_input_tokens) AS r_cached,
       sum(reasoning_tokens) AS r_reasoning, sum(cost_usd) AS r_cost,
       sumIf(cost_usd, status != 'ok') + if(max(attempt) = 2, sumIf(cost_usd, attempt = 1 AND step != 'step-3'), 0) AS r_retry_tax,
       groupUniqArray(model) AS r_models, min(occurred_at) AS r_first, max(occurred_at) AS r_last,
       any(workflow) AS r_workflow, any(\`alloc.project\`[1]) AS r_project, cityHash64(run_id) AS rh
FROM usage_facts WHERE tenant_id = {tenant:String}
GROUP BY run_id`;

const outcomesSql = `
INSERT INTO outcome_facts (
  tenant_id, projection, outcome_id, outcome_type, status, occurred_at, first_occurred_at, event_count, run_ids, calls, attempts,
  failed_attempts, first_pass, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd,
  retry_tax_usd, models, human_milliminutes, human_cost_usd, baseline_cost_usd, value_usd, net_value_usd, quality, tags, last_usage_at)
SELECT {tenant:String}, 1, concat('out-', run_id), ${list(OUTCOME_TYPES)}[1 + cityHash64(r_workflow) % 4], outcome_status,
       r_last + toIntervalSecond(30 + rh % 3600), r_last + toIntervalSecond(30 + rh % 3600), 1 + rh % 2, [run_id], r_calls, r_attempts,
       r_failed, outcome_status = 'accepted' AND r_failed = 0 AND r_attempts = 1,
       r_input, r_output, r_cached, 0, r_reasoning, r_cost, r_retry_tax, r_models,
       NULL, NULL, ${usd('(150 + rh % 400) * 10000000')}, if(outcome_status = 'accepted', ${usd('(300 + rh % 500) * 10000000')}, NULL),
       NULL, NULL, map('project', r_project), r_last
FROM (SELECT *, if(rh % 100 < 78, 'accepted', 'rejected') AS outcome_status FROM bench_runs WHERE rh % 1000 < {per_mille:UInt32})
LIMIT {outcomes:UInt64}`;

const noOutcomeSql = `
INSERT INTO no_outcome_runs (
  tenant_id, projection, run_id, calls, cost_usd, retry_tax_usd, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
  reasoning_tokens, models, first_at, last_at, declared_at)
SELECT {tenant:String}, 1, run_id, r_calls, r_cost, r_retry_tax, r_input, r_output, r_cached, 0,
       r_reasoning, r_models, r_first, r_last, r_last + toIntervalHour(168)
FROM bench_runs
WHERE r_last < {horizon:DateTime64(3)}
  AND run_id NOT IN (SELECT arrayJoin(run_ids) FROM outcome_facts WHERE tenant_id = {tenant:String})`;

async function countOf(clickhouse: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<number> {
  const [row] = await (await clickhouse.query({ query: `SELECT count() AS n FROM ${query}`, query_params: params, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(row?.n ?? 0);
}

/** Writes `facts` usage facts over the 30 days before `now`, and up to `outcomes` outcome facts. */
export async function generateFacts(
  clickhouse: ClickHouseClient, o: { tenant: string; facts: number; outcomes: number; now: number },
): Promise<GeneratedFacts> {
  const runs = Math.ceil(o.facts / CALLS_PER_RUN);
  const from = o.now - 30 * DAY_MS;
  const start = from + 3_600_000;
  const stepMs = (30 * DAY_MS - 2 * 3_600_000) / runs;
  await clickhouse.command({ query: usageSql, query_params: { tenant: o.tenant, facts: o.facts, start, step_ms: stepMs } });
  await clickhouse.command({ query: 'DROP TABLE IF EXISTS bench_runs' });
  await clickhouse.command({ query: runsSql, query_params: { tenant: o.tenant } });
  // A little over the share of runs needed, so the LIMIT fills.
  const perMille = Math.min(1000, Math.ceil((1000 * o.outcomes) / runs) + 10);
  await clickhouse.command({ query: outcomesSql, query_params: { tenant: o.tenant, per_mille: perMille, outcomes: o.outcomes } });
  const horizon = new Date(o.now - 7 * DAY_MS).toISOString().replace('T', ' ').replace('Z', '');
  await clickhouse.command({ query: noOutcomeSql, query_params: { tenant: o.tenant, horizon } });
  await clickhouse.command({ query: 'DROP TABLE bench_runs' });

  const partsRows = await (await clickhouse.query({
    query: `SELECT table, count() AS parts FROM system.parts
            WHERE database = currentDatabase() AND active AND table IN ('usage_facts', 'outcome_facts', 'no_outcome_runs') GROUP BY table`,
    format: 'JSONEachRow',
  })).json<{ table: string; parts: string }>();
  return {
    usage: await countOf(clickhouse, 'usage_facts WHERE tenant_id = {tenant:String}', { tenant: o.tenant }),
    runs,
    outcomes: await countOf(clickhouse, 'outcome_facts WHERE tenant_id = {tenant:String}', { tenant: o.tenant }),
    noOutcomeRuns: await countOf(clickhouse, 'no_outcome_runs WHERE tenant_id = {tenant:String}', { tenant: o.tenant }),
    from,
    to: o.now,
    parts: Object.fromEntries(partsRows.map((p) => [p.table, Number(p.parts)])),
  };
}
