/**
 * SQL fragments over usage_facts shared by the endpoints. Allocations are array-joined so cost
 * can be grouped by project, investment, cost center, team or capex class; a split event's
 * tokens and calls count once, with its first allocation, so totals never double.
 */
import type { Interval, Range } from './params.js';
import { rangeParams } from './reader.js';

export const usageFrom = `usage_facts FINAL
  ARRAY JOIN
    alloc.project AS project, alloc.investment AS investment, alloc.cost_center AS cost_center,
    alloc.team AS team, alloc.capex_class AS capex_class, alloc.capex_reason AS capex_reason, alloc.cost_usd AS alloc_cost_usd,
    arrayEnumerate(alloc.project) AS alloc_index`;

/** The caller's tenant, the served projection and the range: every usage query's WHERE. */
export const usageScope = `tenant_id = {tenant:String} AND projection = {projection:UInt32}
  AND occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}`;

export const usageMeasures = `
  toString(sum(alloc_cost_usd)) AS cost_usd,
  sumIf(input_tokens, alloc_index = 1) AS input_tokens,
  sumIf(output_tokens, alloc_index = 1) AS output_tokens,
  sumIf(cached_input_tokens, alloc_index = 1) AS cached_input_tokens,
  sumIf(reasoning_tokens, alloc_index = 1) AS reasoning_tokens,
  countIf(alloc_index = 1) AS calls`;

/** Group-by dimensions: each a column of the array-joined usage facts (names are fixed, never user text). */
export const spendDimensions = [
  'project', 'investment', 'cost_center', 'team', 'user_id', 'workflow', 'agent', 'model', 'provider', 'capex_class', 'attribution_tier',
] as const;
export type SpendDimension = (typeof spendDimensions)[number];

const periodStart: Record<Interval, string> = {
  hour: 'toStartOfHour(occurred_at)',
  day: 'toStartOfDay(occurred_at)',
  week: 'toStartOfWeek(occurred_at, 1)',
  month: 'toStartOfMonth(occurred_at)',
};

/** The period of an interval as RFC 3339 text (UTC). */
export function periodColumn(interval: Interval, column = 'occurred_at'): string {
  return `formatDateTime(${periodStart[interval].replace('occurred_at', column)}, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS period`;
}

/** The caller's tenant, the served projection and the range over outcome facts (read with FINAL). */
export const outcomeScope = `tenant_id = {tenant:String} AND projection = {projection:UInt32}
  AND occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}`;

/**
 * Group-by dimensions of outcomes, each an SQL expression over outcome_facts (names are fixed,
 * never user text). `project` is the outcome's own `project` tag (from its latest event).
 */
export const outcomeDimensions = ['outcome_type', 'project'] as const;
export type OutcomeDimension = (typeof outcomeDimensions)[number];
export const outcomeDimensionSql: Record<OutcomeDimension, string> = {
  outcome_type: 'outcome_type',
  project: "tags['project']",
};

/** `expr AS name` for each dimension, for a SELECT. */
export function outcomeDimensionColumns(dims: readonly OutcomeDimension[]): string[] {
  return dims.map((d) => `${outcomeDimensionSql[d]} AS ${d}`);
}

/** The WHERE over outcome_facts for a query (tenant, projection, range, type) and its parameters. */
export function outcomeWhere(q: { outcome_type?: string | undefined }, range: Range): { where: string; params: Record<string, string> } {
  return q.outcome_type === undefined
    ? { where: outcomeScope, params: rangeParams(range) }
    : { where: `${outcomeScope} AND outcome_type = {outcome_type:String}`, params: { ...rangeParams(range), outcome_type: q.outcome_type } };
}
