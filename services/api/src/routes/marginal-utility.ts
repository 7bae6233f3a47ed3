import { z } from 'zod';
import { decimalToNanos, nanosToDecimal } from '@tokenledger/schemas';
import { outcomeDimensionColumns, outcomeWhere, type OutcomeDimension } from '../facts-sql.js';
import { leastSquaresSlope, meanNanos } from '../outcome-measures.js';
import { integerField, outcomeQuery } from '../params.js';
import { defineRoute } from '../route.js';

/**
 * Value returned per extra dollar of tokens. Within each group, the outcomes with usage are ranked
 * by token cost (then outcome_id) and cut into N equal-count buckets (bucket = ⌊(rank − 1) × N ÷ n⌋,
 * fewer when the group has fewer outcomes). Each bucket's mean token cost and mean value
 * (a missing value counts 0: spend that bought nothing returned nothing) are exact to the
 * nano-dollar; the answer is the least-squares slope of mean value on mean cost over the buckets.
 * Outcomes with no usage yet are left out: their cost is not known. The slope is null with fewer
 * than two buckets, when all buckets cost the same, or when no outcome of the group reports a value.
 */
const query = outcomeQuery.extend({
  buckets: integerField(2, 100, 10).describe('Cost quantile buckets per group (2 to 100, default 10)'),
});

const methodText = (buckets: number) =>
  `least-squares slope of mean value_usd on mean token cost over ${buckets} cost quantile buckets of the outcomes with usage (a missing value counts 0)`;

const bucket = z.object({
  cost_usd: z.string().describe('Mean token cost per outcome in the bucket, exact decimal USD'),
  value_usd: z.string().describe('Mean value per outcome in the bucket, exact decimal USD'),
  outcomes: z.number(),
});

const response = z.object({
  method: z.string().describe('How the slope is computed'),
  rows: z.array(z.object({
    outcome_type: z.string().optional(),
    project: z.string().optional(),
    outcomes: z.number(),
    marginal_value_per_usd: z.number().nullable().describe('USD of value per extra USD of tokens; null when it cannot be estimated'),
    buckets: z.array(bucket),
  })),
});

interface BucketRow {
  bucket: string;
  outcomes: string;
  valued_outcomes: string;
  cost_sum: string;
  value_sum: string;
}

export const marginalUtilityRoute = defineRoute({
  method: 'GET',
  path: '/v1/marginal-utility',
  summary: 'Value returned per extra dollar of tokens: the slope of value on token cost across cost quantile buckets',
  tags: ['outcomes'],
  roles: ['query', 'admin'],
  query,
  response,
  async handler({ reader, query: q, range }) {
    const dims: OutcomeDimension[] = q.group_by;
    const { where, params } = outcomeWhere(q, range);
    const partition = dims.length ? `PARTITION BY ${dims.join(', ')}` : '';
    const rows = await reader.rows<BucketRow & Record<string, string>>(
      `SELECT ${[...dims, 'bucket'].join(', ')}, count() AS outcomes, countIf(value_usd IS NOT NULL) AS valued_outcomes,
              toString(sum(cost_usd)) AS cost_sum, toString(sum(ifNull(value_usd, toDecimal128(0, 9)))) AS value_sum
       FROM (
         SELECT ${[...outcomeDimensionColumns(dims), 'cost_usd', 'value_usd'].join(', ')},
                intDiv((row_number() OVER (${partition} ORDER BY cost_usd, outcome_id) - 1) * {buckets:UInt32}, count() OVER (${partition})) AS bucket
         FROM outcome_facts FINAL
         WHERE ${where} AND attempts > 0
       )
       GROUP BY ${[...dims, 'bucket'].join(', ')}
       ORDER BY ${[...dims, 'bucket'].join(', ')}`,
      { ...params, buckets: q.buckets },
    );

    const groups = new Map<string, (BucketRow & Record<string, string>)[]>();
    for (const row of rows) {
      const key = JSON.stringify(dims.map((d) => row[d] ?? ''));
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    return {
      method: methodText(q.buckets),
      rows: [...groups.values()].map((group) => {
        const buckets = group.map((b) => {
          const n = Number(b.outcomes);
          return { cost: meanNanos(decimalToNanos(b.cost_sum), n), value: meanNanos(decimalToNanos(b.value_sum), n), outcomes: n };
        });
        const valued = group.some((b) => Number(b.valued_outcomes) > 0);
        const first = group[0];
        return {
          ...Object.fromEntries(dims.map((d) => [d, first?.[d] ?? ''])),
          outcomes: buckets.reduce((sum, b) => sum + b.outcomes, 0),
          marginal_value_per_usd: valued ? leastSquaresSlope(buckets.map((b) => ({ x: b.cost, y: b.value }))) : null,
          buckets: buckets.map((b) => ({ cost_usd: nanosToDecimal(b.cost), value_usd: nanosToDecimal(b.value), outcomes: b.outcomes })),
        };
      }),
    };
  },
});
