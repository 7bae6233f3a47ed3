/**
 * SQL of the hourly outcome rollup (infra/migrations/0012_outcome_hourly.sql): how the job builds
 * an hour, and how unit economics and waste read hours from the rollup and compute the rest live.
 * Every side makes the same "outcome rows" (the dimensions below, `o_hour` and the `o_` measures)
 * from the same per-outcome values (memberValues), so an hour served from the rollup is the hour
 * computed live.
 *
 * Outcome rows: outcome_type, project (the outcome's `project` tag), p_known / p_workflow /
 * p_model (the primary pair the joiner stored, and whether it did), p_usage (1 when the outcome
 * has usage); measures o_outcomes, o_accepted, o_first_pass, o_with_usage, o_attempts,
 * o_baseline_outcomes, o_valued, o_cost, o_human, o_tax, o_baseline, o_baseline_cost, o_value.
 */

import { atLatestVersion, servedHoursWhere } from './hours.js';

/** Name of the rollup in rollup_progress. */
export const outcomeHourlyName = 'outcome_hourly';

/** Where the version of each rolled-up hour is recorded. */
export const outcomeHourlyVersions = 'outcome_hourly_versions';

const zero = 'toDecimal128(0, 9)';

/**
 * One outcome's values from outcome_facts (`m_` names, in outcome_hourly_members' column order
 * after tenant and projection). Aliases never reuse a column name: ClickHouse would read the
 * alias where the column is meant.
 */
const memberValues = `outcome_id AS m_outcome, toStartOfHour(occurred_at) AS m_hour, occurred_at AS m_at, outcome_type AS m_type, tags['project'] AS m_project,
  primary_known AS m_known, toUInt8(attempts > 0) AS m_usage, primary_workflow AS m_workflow, primary_model AS m_model,
  toUInt8(status = 'accepted') AS m_accepted, toUInt8(first_pass) AS m_first_pass, toUInt64(attempts) AS m_attempts,
  toUInt8(baseline_cost_usd IS NOT NULL) AS m_has_baseline, toUInt8(value_usd IS NOT NULL) AS m_has_value,
  cost_usd AS m_cost, ifNull(human_cost_usd, ${zero}) AS m_human, retry_tax_usd AS m_tax,
  ifNull(baseline_cost_usd, ${zero}) AS m_baseline, ifNull(value_usd, ${zero}) AS m_value`;

/** The same values read back from outcome_hourly_members. */
const storedMemberValues = `outcome_id AS m_outcome, hour AS m_hour, occurred_at AS m_at, outcome_type AS m_type, project AS m_project,
  primary_known AS m_known, with_usage AS m_usage, primary_workflow AS m_workflow, primary_model AS m_model,
  accepted AS m_accepted, first_pass AS m_first_pass, attempts AS m_attempts, has_baseline AS m_has_baseline, has_value AS m_has_value,
  cost_usd AS m_cost, human_cost_usd AS m_human, retry_tax_usd AS m_tax, baseline_usd AS m_baseline, value_usd AS m_value`;

/** Outcome rows, one per outcome, from a subquery of member values. */
function outcomeRowsOf(members: string): string {
  return `SELECT m_hour AS o_hour, m_type AS outcome_type, m_project AS project, m_known AS p_known, m_usage AS p_usage,
            m_workflow AS p_workflow, m_model AS p_model, toUInt64(1) AS o_outcomes, toUInt64(m_accepted) AS o_accepted,
            toUInt64(m_first_pass) AS o_first_pass, toUInt64(m_usage) AS o_with_usage, m_attempts AS o_attempts,
            toUInt64(m_has_baseline) AS o_baseline_outcomes, toUInt64(m_has_value) AS o_valued, m_cost AS o_cost, m_human AS o_human,
            m_tax AS o_tax, m_baseline AS o_baseline, if(m_has_baseline = 1, m_cost + m_human, ${zero}) AS o_baseline_cost, m_value AS o_value
          FROM (${members})`;
}

/** Outcome rows of every outcome of the request's tenant and projection in [from, to), live from the facts (FINAL). */
export const liveOutcomeRowsSql = outcomeRowsOf(`SELECT ${memberValues} FROM outcome_facts FINAL
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
    AND occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}`);

const dimensions = 'outcome_type, project, p_known, p_usage, p_workflow, p_model';

/**
 * Writes, under `version`, every outcome of the given hours of one tenant and projection (its
 * latest fact) with its values to outcome_hourly_members. Parameters: tenant, projection, hours, version.
 */
export const stageMembersSql = `
  INSERT INTO outcome_hourly_members (tenant_id, projection, outcome_id, hour, occurred_at, outcome_type, project, primary_known, with_usage,
    primary_workflow, primary_model, accepted, first_pass, attempts, has_baseline, has_value, cost_usd, human_cost_usd, retry_tax_usd,
    baseline_usd, value_usd, version)
  SELECT {tenant:String}, {projection:UInt32}, ${memberValues}, {version:UInt64}
  FROM outcome_facts FINAL
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND toStartOfHour(occurred_at) IN {hours:Array(DateTime('UTC'))}`;

/** Sums the members staged under `version` for the given hours into outcome_hourly, under the same version. */
export const rollUpOutcomeHoursSql = `
  INSERT INTO outcome_hourly (tenant_id, projection, hour, outcome_type, project, primary_known, with_usage, primary_workflow, primary_model,
    outcomes, accepted, first_pass_outcomes, attempts, baseline_outcomes, valued_outcomes, cost_usd, human_cost_usd, retry_tax_usd,
    baseline_usd, baseline_outcomes_cost_usd, value_usd, version)
  SELECT {tenant:String}, {projection:UInt32}, o_hour, ${dimensions},
    sum(o_outcomes), sum(o_accepted), sum(o_first_pass), sum(o_attempts), sum(o_baseline_outcomes), sum(o_valued),
    sum(o_cost), sum(o_human), sum(o_tax), sum(o_baseline), sum(o_baseline_cost), sum(o_value), {version:UInt64}
  FROM (${outcomeRowsOf(`SELECT ${storedMemberValues} FROM outcome_hourly_members
    WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND version = {version:UInt64}
      AND hour IN {hours:Array(DateTime('UTC'))}`)})
  GROUP BY o_hour, ${dimensions}`;

/**
 * Per tenant, the hours a pass over (from, until] recomputes: those of the outcome facts written
 * in it, and every hour the rollup counted those outcomes in (their members), so an outcome that
 * moved to another hour leaves the old one. Parameters: projection, from, until.
 */
export const dirtyOutcomeHoursByTenantSql = `
  WITH written AS (
    SELECT tenant_id, outcome_id, occurred_at FROM outcome_facts
    WHERE projection = {projection:UInt32}
      AND computed_at > toDateTime64({from:String}, 6) AND computed_at <= toDateTime64({until:String}, 6))
  SELECT tenant_id, arraySort(groupUniqArray(toString(h))) AS hours FROM (
    SELECT tenant_id, toStartOfHour(occurred_at) AS h FROM written
    UNION ALL
    SELECT tenant_id, hour AS h FROM outcome_hourly_members
    WHERE projection = {projection:UInt32} AND (SELECT count() FROM written) > 0
      AND (tenant_id, outcome_id) IN (SELECT tenant_id, outcome_id FROM written))
  GROUP BY tenant_id`;

/** Outcome facts of the request's tenant and projection written after the watermark. */
const writtenSince = `FROM outcome_facts
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND computed_at > {watermark:DateTime64(6)}`;

/**
 * `dirty_hours`: the hours of the request's tenant and projection an outcome written after the
 * watermark is in or was counted in (the rollup's rows for them may be stale), as a scalar
 * evaluated once per query.
 */
const dirtyHoursScalar = `(SELECT groupUniqArray(h) FROM (
    SELECT toDateTime(toStartOfHour(occurred_at), 'UTC') AS h ${writtenSince}
    UNION ALL
    SELECT hour AS h FROM outcome_hourly_members
    WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
      AND (SELECT count() ${writtenSince}) > 0 AND outcome_id IN (SELECT outcome_id ${writtenSince}))) AS dirty_hours`;

const inRange = 'occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}';
const inDirtyHour = "notEmpty(dirty_hours) AND has(dirty_hours, toDateTime(toStartOfHour(occurred_at), 'UTC'))";
const endHours = 'hour IN (toStartOfHour({from:DateTime64(3)}), toStartOfHour({to:DateTime64(3)}))';

/**
 * The outcomes in the partial hours at the range's ends that are not dirty: each such hour's
 * members at its latest version, which are the outcomes its rolled-up rows count, with the time
 * of their latest event.
 */
const endHourMembers = `SELECT ${storedMemberValues} FROM outcome_hourly_members
  WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND ${endHours} AND NOT has(dirty_hours, hour)
    AND ${inRange} AND (occurred_at < {from_hour:DateTime('UTC')} OR occurred_at >= {to_hour:DateTime('UTC')})
    AND ${atLatestVersion(outcomeHourlyVersions, endHours)}`;

/**
 * The latest row of each outcome of the request's tenant and projection with any row matching
 * `where`, without FINAL: every row of those outcomes is read and the one written last kept, as
 * FINAL keeps it. FINAL would merge the whole table: the outcomes' ids are spread over all of it.
 */
export function latestOutcomes(where: string): string {
  return `SELECT outcome_id, occurred_at, outcome_type, tags, primary_known, attempts, primary_workflow, primary_model, status, first_pass,
            baseline_cost_usd, value_usd, cost_usd, human_cost_usd, retry_tax_usd, run_ids
          FROM outcome_facts
          WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND outcome_id IN (
            SELECT outcome_id FROM outcome_facts WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND ${where})
          ORDER BY computed_at DESC LIMIT 1 BY outcome_id`;
}

/**
 * Outcome rows over [from, to) for the request's tenant and projection. Hours nothing written
 * after the watermark touches come from the rollup: whole hours from its rows, the partial hours
 * at the ends from its members, each at the hour's latest version. Hours touched since (dirty)
 * are computed live from the latest facts: the outcomes with any row there, then kept if their
 * latest row is there. Parameters: tenant, projection, from, to (DateTime64(3)), from_hour and
 * to_hour (the whole hours), watermark.
 */
export const outcomeRowsSql = `
  WITH ${dirtyHoursScalar}
  SELECT hour AS o_hour, outcome_type, project, primary_known AS p_known, with_usage AS p_usage, primary_workflow AS p_workflow,
         primary_model AS p_model, outcomes AS o_outcomes, accepted AS o_accepted, first_pass_outcomes AS o_first_pass,
         if(with_usage = 1, outcomes, 0) AS o_with_usage, attempts AS o_attempts, baseline_outcomes AS o_baseline_outcomes,
         valued_outcomes AS o_valued, cost_usd AS o_cost, human_cost_usd AS o_human, retry_tax_usd AS o_tax, baseline_usd AS o_baseline,
         baseline_outcomes_cost_usd AS o_baseline_cost, value_usd AS o_value
  FROM outcome_hourly
  WHERE ${servedHoursWhere(outcomeHourlyVersions)}
  UNION ALL
  ${outcomeRowsOf(endHourMembers)}
  UNION ALL
  ${outcomeRowsOf(`SELECT ${memberValues} FROM (${latestOutcomes(`${inRange} AND ${inDirtyHour}`)}) WHERE ${inRange} AND ${inDirtyHour}`)}`;
