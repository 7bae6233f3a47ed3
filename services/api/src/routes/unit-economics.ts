import { z } from 'zod';
import { addOutcomeSums, outcomeSumsSql, parseOutcomeSums, unitEconomics, type OutcomeSumsRow } from '../outcome-measures.js';
import { outcomeQuery } from '../params.js';
import { defineRoute } from '../route.js';

const usd = z.string().describe('Exact decimal USD');
const nullableUsd = z.string().nullable().describe('Exact decimal USD; null when undefined for the group');
const measures = {
  outcomes: z.number(),
  accepted: z.number(),
  acceptance_rate: z.number().nullable().describe('accepted ÷ outcomes'),
  token_cost_usd: usd.describe('Token cost of every outcome in the group, retries and rejected work included'),
  cost_per_accepted_outcome_usd: nullableUsd.describe('token_cost_usd ÷ accepted: what an accepted outcome really costs'),
  baseline_cost_per_outcome_usd: nullableUsd.describe('Mean baseline cost (the human or BPO path) over outcomes that report one'),
  savings_usd: nullableUsd.describe('Σ over outcomes with a baseline of baseline − token cost − human cost'),
  roi: z.number().nullable().describe('(Σ value − Σ token cost − Σ human cost) ÷ (Σ token cost + Σ human cost); a missing value counts 0; null without any value'),
  first_pass_yield: z.number().nullable().describe('Accepted on the first attempt with no wasted call, ÷ outcomes'),
  retry_tax_usd: usd.describe('Cost of wasted calls: failed ones and attempts a later attempt superseded'),
  mean_attempts: z.number().nullable().describe('Mean highest attempt over outcomes with usage'),
  human_cost_usd: usd.describe('Loaded cost of human review and rework minutes'),
  value_usd: nullableUsd.describe('Σ reported value; null when no outcome reports one'),
};

const response = z.object({
  rows: z.array(z.object({ outcome_type: z.string().optional(), project: z.string().optional(), ...measures })),
  totals: z.object(measures),
});

export const unitEconomicsRoute = defineRoute({
  method: 'GET',
  path: '/v1/unit-economics',
  summary: 'Outcomes, acceptance, cost per accepted outcome against baseline, savings, ROI, first-pass yield, retry tax',
  tags: ['outcomes'],
  roles: ['query', 'admin'],
  query: outcomeQuery,
  response,
  async handler({ reader, query: q, range }) {
    const dims = q.group_by;
    const outcomes = await reader.outcomeRows(range);
    // Outcome rows name their dimensions as the group_by values do (outcome_type, project).
    const rows = await reader.rows<OutcomeSumsRow & Record<string, string>>(
      `SELECT ${[...dims, outcomeSumsSql].join(', ')}
       FROM (${outcomes.sql})
       ${q.outcome_type === undefined ? '' : 'WHERE outcome_type = {outcome_type:String}'}
       ${dims.length ? `GROUP BY ${dims.join(', ')} ORDER BY sum(o_cost) DESC, ${dims.join(', ')}` : ''}`,
      { ...outcomes.params, ...(q.outcome_type === undefined ? {} : { outcome_type: q.outcome_type }) },
    );
    const sums = rows.map(parseOutcomeSums).filter((s) => s.outcomes > 0);
    return {
      rows: dims.length ? rows.filter((r) => Number(r.outcomes) > 0).map((r) => ({
        ...Object.fromEntries(dims.map((d) => [d, r[d] ?? ''])),
        ...unitEconomics(parseOutcomeSums(r)),
      })) : [],
      totals: unitEconomics(addOutcomeSums(sums)),
    };
  },
});
