/**
 * SQL of the hourly usage rollup (infra/migrations/0009_usage_hourly.sql): how the job builds an
 * hour, and how a query reads hours from the rollup and computes the rest live. Both sides make
 * the same "hour rows" (the dimensions, `h_hour` and the `h_` measures) from the same
 * deduplicated facts, so an hour served from the rollup is the hour computed live.
 */

import { servedHoursWhere } from './hours.js';

/** Dimensions the rollup keeps (every spend dimension but user_id, plus price_status). */
export const hourlyDimensions = [
  'project', 'investment', 'cost_center', 'team', 'capex_class', 'workflow', 'agent', 'model', 'provider', 'attribution_tier', 'price_status',
] as const;
export type HourlyDimension = (typeof hourlyDimensions)[number];

export const HOUR_MS = 3_600_000;

/** Name of the rollup in rollup_progress. */
export const usageHourlyName = 'usage_hourly';

/** Where the version of each rolled-up hour is recorded. */
export const usageHourlyVersions = 'usage_hourly_versions';

/** Per tenant, the hours with a usage fact written in (from, until]. Parameters: projection, from, until. */
export const dirtyUsageHoursByTenantSql = `
  SELECT tenant_id, arraySort(groupUniqArray(toString(toStartOfHour(occurred_at)))) AS hours FROM usage_facts
  WHERE projection = {projection:UInt32}
    AND written_at > toDateTime64({from:String}, 6) AND written_at <= toDateTime64({until:String}, 6)
  GROUP BY tenant_id`;

/**
 * The latest row of each usage fact matching `where`, without FINAL: the filter applies before
 * deduplication, which is exact because every row of an event has the event's tenant,
 * projection and occurred_at, and the row written last (highest written_at) is the one FINAL
 * keeps. Only the columns the rollup reads.
 */
export function latestUsage(where: string): string {
  return `(SELECT occurred_at, workflow, agent, model, provider, attribution_tier, price_status,
            input_tokens, output_tokens, cached_input_tokens, reasoning_tokens,
            alloc.project, alloc.investment, alloc.cost_center, alloc.team, alloc.capex_class, alloc.cost_usd
          FROM usage_facts WHERE ${where}
          ORDER BY written_at DESC LIMIT 1 BY event_id)`;
}

/**
 * One hour row per allocation of the latest facts matching `where` (tokens and calls on the
 * first allocation only, as in facts-sql's usageMeasures).
 */
export function liveHourRows(where: string): string {
  return `SELECT ${hourlyDimensions.join(', ')}, toStartOfHour(occurred_at) AS h_hour, alloc_cost_usd AS h_cost,
            if(alloc_index = 1, input_tokens, 0) AS h_input, if(alloc_index = 1, output_tokens, 0) AS h_output,
            if(alloc_index = 1, cached_input_tokens, 0) AS h_cached, if(alloc_index = 1, reasoning_tokens, 0) AS h_reasoning,
            toUInt64(alloc_index = 1) AS h_calls
          FROM ${latestUsage(where)}
          ARRAY JOIN
            alloc.project AS project, alloc.investment AS investment, alloc.cost_center AS cost_center,
            alloc.team AS team, alloc.capex_class AS capex_class, alloc.cost_usd AS alloc_cost_usd,
            arrayEnumerate(alloc.project) AS alloc_index`;
}

/** Recomputes the given hours of one tenant and projection into usage_hourly, under `version`. */
export const rollUpHoursSql = `
  INSERT INTO usage_hourly (tenant_id, projection, hour, ${hourlyDimensions.join(', ')},
    cost_usd, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, calls, version)
  SELECT {tenant:String}, {projection:UInt32}, h_hour, ${hourlyDimensions.join(', ')},
    sum(h_cost), sum(h_input), sum(h_output), sum(h_cached), sum(h_reasoning), sum(h_calls), {version:UInt64}
  FROM (${liveHourRows(`tenant_id = {tenant:String} AND projection = {projection:UInt32} AND toStartOfHour(occurred_at) IN {hours:Array(DateTime('UTC'))}`)})
  GROUP BY h_hour, ${hourlyDimensions.join(', ')}`;

/**
 * `dirty_hours`: the hours of the request's tenant and projection with a fact written after the
 * watermark, as a scalar evaluated once per query.
 */
const dirtyHoursScalar = `(SELECT groupUniqArray(toDateTime(toStartOfHour(occurred_at), 'UTC')) FROM usage_facts
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND written_at > {watermark:DateTime64(6)}) AS dirty_hours`;

/**
 * Hour rows over [from, to) for the request's tenant and projection: whole hours with nothing
 * written after the watermark from the rollup (their latest version), every other fact in range
 * (partial hours at the ends, hours written since) live. Parameters: tenant, projection, from,
 * to (DateTime64(3)), from_hour and to_hour (the whole hours, DateTime), watermark.
 */
export const hourRowsSql = `
  WITH ${dirtyHoursScalar}
  SELECT ${hourlyDimensions.join(', ')}, hour AS h_hour, cost_usd AS h_cost, input_tokens AS h_input, output_tokens AS h_output,
         cached_input_tokens AS h_cached, reasoning_tokens AS h_reasoning, calls AS h_calls
  FROM usage_hourly
  WHERE ${servedHoursWhere(usageHourlyVersions)}
  UNION ALL
  ${liveHourRows(`tenant_id = {tenant:String} AND projection = {projection:UInt32}
    AND occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}
    AND (occurred_at < {from_hour:DateTime('UTC')} OR occurred_at >= {to_hour:DateTime('UTC')} OR has(dirty_hours, toDateTime(toStartOfHour(occurred_at), 'UTC')))`)}`;

/** The whole hours inside [from, to) (epoch ms): [fromHour, toHour), empty when fromHour ≥ toHour. */
export function wholeHours(from: number, to: number): { fromHour: number; toHour: number } {
  const fromHour = Math.ceil(from / HOUR_MS) * HOUR_MS;
  return { fromHour, toHour: Math.max(fromHour, Math.floor(to / HOUR_MS) * HOUR_MS) };
}
