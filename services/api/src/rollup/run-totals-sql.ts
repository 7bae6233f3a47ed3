/**
 * SQL of the per-run rollup (infra/migrations/0010_run_totals.sql): how the job builds a run's
 * totals, and how top runs reads them. Both sides total the same deduplicated calls the same
 * way (runTotalsSelect), so a run served from the rollup is the run computed live.
 */

import type { RunOrder } from '../run-ranking.js';

/** Name of the rollup in rollup_progress. */
export const runTotalsName = 'run_totals';

/**
 * Per run: cost, retry tax (failed calls, and attempts a later attempt of the same run step
 * replaced), calls, first and last call, over the latest row of each usage fact matching
 * `where`. Without FINAL: the filter applies before deduplication, which is exact because every
 * row of an event has the event's tenant, projection, run_id and occurred_at, and the row
 * written last is the one FINAL keeps. (Aliases never reuse a column name: ClickHouse would
 * read the alias where the column is meant.)
 */
export function runTotalsSelect(where: string): string {
  return `SELECT run_id AS r_run, min(occurred_at) AS r_first, max(occurred_at) AS r_last, count() AS r_calls,
            sum(call_cost) AS r_cost, sumIf(call_cost, call_status != 'ok' OR attempt < step_max_attempt) AS r_tax
          FROM (
            SELECT run_id, cost_usd AS call_cost, status AS call_status, attempt, occurred_at,
                   max(attempt) OVER (PARTITION BY run_id, step) AS step_max_attempt
            FROM (
              SELECT run_id, step, attempt, status, cost_usd, occurred_at FROM usage_facts
              WHERE ${where}
              ORDER BY written_at DESC LIMIT 1 BY event_id))
          GROUP BY run_id`;
}

/**
 * Recomputes, under `version`, every run of one tenant and projection with a fact written in
 * (from, until], from all its calls; `part` of `parts` by run hash, to bound memory.
 */
export const rollUpRunsSql = `
  INSERT INTO run_totals (tenant_id, projection, run_id, first_at, last_at, calls, cost_usd, retry_tax_usd, version)
  SELECT {tenant:String}, {projection:UInt32}, r_run, r_first, r_last, r_calls, r_cost, r_tax, {version:UInt64}
  FROM (${runTotalsSelect(`tenant_id = {tenant:String} AND projection = {projection:UInt32} AND run_id IN (
    SELECT DISTINCT run_id FROM usage_facts
    WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
      AND written_at > toDateTime64({from:String}, 6) AND written_at <= toDateTime64({until:String}, 6)
      AND cityHash64(run_id) % {parts:UInt32} = {part:UInt32})`)})`;

/**
 * run_totals has one partition, so FINAL merging within partitions only is the same FINAL; it
 * lets ClickHouse read a partition made of one merged part without merging at all.
 */
const singlePartitionFinal = 'SETTINGS do_not_merge_across_partitions_select_final = 1';

/** Runs of the request's tenant and projection with a fact written after the watermark. */
const dirtyRuns = `SELECT DISTINCT run_id FROM usage_facts
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND written_at > {watermark:DateTime64(6)}`;

/**
 * Runs that top runs computes live over [from, to) for the request's tenant and projection: those
 * with a fact written after the watermark, and rolled-up runs with a version not wholly inside the
 * range that reaches into it. Every version, not only the latest (no FINAL): a stale version only
 * adds a run, and a run computed live is exact whatever its rollup says, so the set is a superset
 * of the runs the rollup cannot serve; top runs drops rolled-up entries of runs in it. Parameters:
 * tenant, projection, from, to, watermark.
 */
export const liveRunsSql = `
  ${dirtyRuns}
  UNION DISTINCT
  SELECT run_id FROM run_totals
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
    AND first_at < {to:DateTime64(3)} AND last_at >= {from:DateTime64(3)}
    AND NOT (first_at >= {from:DateTime64(3)} AND last_at < {to:DateTime64(3)})`;

const runTotalsColumns = 'run_id AS r_run, first_at AS r_first, last_at AS r_last, calls AS r_calls, cost_usd AS r_cost, retry_tax_usd AS r_tax';

/**
 * The first `candidates` rows of run_totals, any version (no FINAL), wholly inside [from, to) of
 * runs with nothing written after the watermark, ranked by `order` (r_cost or r_tax), then run
 * id: a run whose latest version is wholly inside and ranked before the last row read has that
 * version among them. Top runs keeps a run only where its latest version is (runVersionsSql).
 */
export function rolledCandidatesSql(order: RunOrder): string {
  return `SELECT ${runTotalsColumns}, version AS r_version FROM run_totals
    WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
      AND first_at >= {from:DateTime64(3)} AND last_at < {to:DateTime64(3)}
      AND run_id NOT IN (${dirtyRuns})
    ORDER BY ${order} DESC, r_run
    LIMIT {candidates:UInt32}`;
}

/** The latest version (the one FINAL keeps) of each of the runs `runs`: a lookup by primary key. */
export const runVersionsSql = `
  SELECT run_id AS r_run, max(version) AS r_version FROM run_totals
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND run_id IN {runs:Array(String)}
  GROUP BY run_id`;

/**
 * The top `limit` rolled-up runs wholly inside [from, to) with nothing written after the
 * watermark (so none of the runs written since), ranked by `order` (r_cost or r_tax), then run id,
 * from the latest versions (FINAL over the whole projection: top runs' slow path).
 */
export function rolledTopRunsSql(order: RunOrder): string {
  return `SELECT r_run, r_first, r_last, r_calls, r_cost, r_tax FROM (
      SELECT ${runTotalsColumns}
      FROM run_totals FINAL
      WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
        AND first_at >= {from:DateTime64(3)} AND last_at < {to:DateTime64(3)})
    WHERE r_run NOT IN (${dirtyRuns})
    ORDER BY ${order} DESC, r_run
    LIMIT {limit:UInt32}
    ${singlePartitionFinal}`;
}
