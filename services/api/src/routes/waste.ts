import { z } from 'zod';
import { decimalToNanos, nanosToDecimal } from '@tokenledger/schemas';
import { outcomeScope, usageScope } from '../facts-sql.js';
import { routingCandidates, type ModelOutcomes } from '../outcome-measures.js';
import { integerField, rangeFields } from '../params.js';
import { hourRowsParams, rangeParams } from '../reader.js';
import { hourRowsSql } from '../rollup/usage-hourly-sql.js';
import { defineRoute } from '../route.js';

/**
 * Where token money went without buying anything, over [from, to):
 * - retry_tax_usd: cost of wasted calls (failed, or superseded by a later attempt of the same run
 *   step), as the joiner computes it: Σ retry tax of the outcomes whose latest event is in the
 *   range, plus Σ retry tax of the runs declared spend with no outcome whose last call is in it.
 *   Runs still inside the no-outcome horizon and claimed by no outcome are not counted yet.
 * - no_outcome_spend_usd: Σ cost of runs no outcome claimed within the horizon (last call in range).
 * - unattributed_usd: Σ cost allocated to no project (`(unattributed)`), calls in range.
 * - unpriced_calls: calls in range no price covered (their cost is 0 until a price is configured).
 * - routing_candidates: see routingCandidates. Each outcome counts for the one (workflow, model)
 *   of its runs that spent the most on it (ties to the later name), with its whole token cost: the
 *   primary pair the joiner stores on the outcome fact with the rest of it (as of the usage it
 *   joined), worked out live from the usage facts for rows written before it stored one.
 */
const query = z.strictObject({
  ...rangeFields,
  min_outcomes: integerField(1, 1_000_000, 5).describe('Routing candidates: outcomes each model needs (default 5)'),
  acceptance_tolerance: z.coerce
    .number({ error: 'must be a number from 0 to 1' })
    .min(0, { error: 'must be a number from 0 to 1' })
    .max(1, { error: 'must be a number from 0 to 1' })
    .default(0.02)
    .describe('Routing candidates: how much lower (a fraction) the cheaper model may accept and still count as the same (default 0.02)'),
});

const usd = z.string().describe('Exact decimal USD');
const response = z.object({
  retry_tax_usd: usd,
  retry_tax_with_outcome_usd: usd.describe('Part of retry_tax_usd in runs that outcomes claim'),
  retry_tax_no_outcome_usd: usd.describe('Part of retry_tax_usd in runs declared spend with no outcome'),
  no_outcome_spend_usd: usd,
  no_outcome_runs: z.number(),
  unattributed_usd: usd,
  unpriced_calls: z.number(),
  routing_candidates: z.array(z.object({
    workflow: z.string(),
    current_model: z.string().describe('The model the workflow spends most on'),
    candidate_model: z.string().describe('A model with a lower mean cost per outcome that accepts as often'),
    current_acceptance_rate: z.number(),
    candidate_acceptance_rate: z.number(),
    current_mean_cost_usd: usd.describe('Mean token cost per outcome'),
    candidate_mean_cost_usd: usd,
    current_outcomes: z.number(),
    candidate_outcomes: z.number(),
    money_at_stake_usd: usd.describe('(current mean − candidate mean) × current outcomes'),
  })),
});

/**
 * Outcomes in range by their primary (workflow, model) as the joiner stored it, whether it did
 * (p_known: 0 on rows written before it stored them) and whether they have usage: counts, token
 * cost and retry tax, summed over outcome rows (from the hourly outcome rollup where current).
 * One pass for both the retry tax and model routing.
 */
const outcomeGroupsOf = (outcomeRows: string) => `
  SELECT p_known AS known, p_usage AS with_usage, p_workflow, p_model,
         sum(o_outcomes) AS outcomes, sum(o_accepted) AS accepted, toString(sum(o_cost)) AS cost_sum, toString(sum(o_tax)) AS retry_tax
  FROM (${outcomeRows})
  GROUP BY known, with_usage, p_workflow, p_model`;

/** Outcomes in range with usage and no stored primary pair, each with its token cost, status and runs. */
const scopedOutcomes = `SELECT outcome_id, status, cost_usd, run_ids FROM outcome_facts FINAL WHERE ${outcomeScope} AND attempts > 0 AND primary_known = 0`;

/**
 * For outcome rows from before the joiner stored their primary pair: per (workflow, model), the
 * outcomes whose runs spent most on that pair, accepted, and their token cost, joined live to the
 * usage facts (the joiner's rule, in SQL). (Aliases never reuse a column name: ClickHouse would
 * read the alias where the column is meant.)
 */
const legacyModelOutcomesSql = `
  WITH scoped AS (${scopedOutcomes})
  SELECT primary_workflow AS workflow, primary_model AS model, count() AS outcomes, countIf(outcome_status = 'accepted') AS accepted,
         toString(sum(outcome_cost)) AS cost_sum
  FROM (
    SELECT outcome_id, any(status) AS outcome_status, any(cost_usd) AS outcome_cost,
           argMax(workflow, (spent, workflow, model)) AS primary_workflow, argMax(model, (spent, workflow, model)) AS primary_model
    FROM (
      SELECT o.outcome_id AS outcome_id, o.status AS status, o.cost_usd AS cost_usd, u.workflow AS workflow, u.model AS model, sum(u.cost_usd) AS spent
      FROM (SELECT outcome_id, status, cost_usd, run_id FROM scoped ARRAY JOIN run_ids AS run_id) AS o
      INNER JOIN (
        SELECT run_id, workflow, model, cost_usd FROM usage_facts FINAL
        WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND run_id IN (SELECT arrayJoin(run_ids) FROM scoped)
      ) AS u ON u.run_id = o.run_id
      GROUP BY outcome_id, status, cost_usd, workflow, model
    )
    GROUP BY outcome_id
  )
  WHERE primary_workflow != ''
  GROUP BY primary_workflow, primary_model`;

/** One entry per (workflow, model), the sums of its entries. */
function addModelOutcomes(list: readonly ModelOutcomes[]): ModelOutcomes[] {
  const byPair = new Map<string, ModelOutcomes>();
  for (const m of list) {
    const key = `${m.workflow}\n${m.model}`;
    const seen = byPair.get(key);
    byPair.set(key, seen ? { ...seen, outcomes: seen.outcomes + m.outcomes, accepted: seen.accepted + m.accepted, cost: seen.cost + m.cost } : m);
  }
  return [...byPair.values()];
}

export const wasteRoute = defineRoute({
  method: 'GET',
  path: '/v1/waste',
  summary: 'Retry tax, spend with no outcome, unattributed spend, unpriced calls and model-routing candidates',
  tags: ['waste'],
  roles: ['query', 'admin'],
  query,
  response,
  async handler({ reader, query: q, range }) {
    const params = rangeParams(range);
    const [watermark, outcomes] = await Promise.all([reader.usageRollupWatermark(), reader.outcomeRows(range)]);
    const [groups, [noOutcome], [usage]] = await Promise.all([
      reader.rows<{ known: number; with_usage: number; p_workflow: string; p_model: string; outcomes: string; accepted: string; cost_sum: string; retry_tax: string }>(
        outcomeGroupsOf(outcomes.sql), outcomes.params),
      reader.rows<{ runs: string; cost_sum: string; retry_tax: string }>(
        `SELECT count() AS runs, toString(sum(cost_usd)) AS cost_sum, toString(sum(retry_tax_usd)) AS retry_tax
         FROM no_outcome_runs FINAL
         WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
           AND last_at >= {from:DateTime64(3)} AND last_at < {to:DateTime64(3)}`, params),
      watermark === null
        ? reader.rows<{ unattributed: string; unpriced_calls: string }>(
          `SELECT toString(sum(arraySum(arrayFilter((cost, project) -> project = '(unattributed)', alloc.cost_usd, alloc.project)))) AS unattributed,
                  countIf(price_status = 'unpriced') AS unpriced_calls
           FROM usage_facts FINAL WHERE ${usageScope}`, params)
        // The same sums over hour rows: from the hourly rollup where it is current, live elsewhere.
        : reader.rows<{ unattributed: string; unpriced_calls: string }>(
          `SELECT toString(sumIf(h_cost, project = '(unattributed)')) AS unattributed, sumIf(h_calls, price_status = 'unpriced') AS unpriced_calls
           FROM (${hourRowsSql})`, hourRowsParams(range, watermark)),
    ]);
    const withUsage = (g: (typeof groups)[number]) => Number(g.with_usage) === 1;
    const stored = groups.filter((g) => Number(g.known) === 1 && withUsage(g) && g.p_workflow !== '')
      .map((g) => ({ workflow: g.p_workflow, model: g.p_model, outcomes: g.outcomes, accepted: g.accepted, cost_sum: g.cost_sum }));
    const legacy = groups.some((g) => Number(g.known) === 0 && withUsage(g))
      ? await reader.rows<{ workflow: string; model: string; outcomes: string; accepted: string; cost_sum: string }>(legacyModelOutcomesSql, params)
      : [];
    const retryWithOutcome = groups.reduce((sum, g) => sum + decimalToNanos(g.retry_tax), 0n);
    const retryNoOutcome = decimalToNanos(noOutcome?.retry_tax ?? '0');
    return {
      retry_tax_usd: nanosToDecimal(retryWithOutcome + retryNoOutcome),
      retry_tax_with_outcome_usd: nanosToDecimal(retryWithOutcome),
      retry_tax_no_outcome_usd: nanosToDecimal(retryNoOutcome),
      no_outcome_spend_usd: nanosToDecimal(decimalToNanos(noOutcome?.cost_sum ?? '0')),
      no_outcome_runs: Number(noOutcome?.runs ?? 0),
      unattributed_usd: nanosToDecimal(decimalToNanos(usage?.unattributed ?? '0')),
      unpriced_calls: Number(usage?.unpriced_calls ?? 0),
      routing_candidates: routingCandidates(
        addModelOutcomes([...stored, ...legacy].map((m) => ({
          workflow: m.workflow, model: m.model, outcomes: Number(m.outcomes), accepted: Number(m.accepted), cost: decimalToNanos(m.cost_sum),
        }))),
        { minOutcomes: q.min_outcomes, acceptanceTolerance: q.acceptance_tolerance },
      ),
    };
  },
});
