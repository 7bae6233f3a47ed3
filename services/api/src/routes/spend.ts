import { z } from 'zod';
import { periodColumn, spendDimensions, usageFrom, usageMeasures, usageScope } from '../facts-sql.js';
import { sumUsd } from '../money.js';
import { intervalField, nameList, rangeFields } from '../params.js';
import { hourRowsParams, rangeParams } from '../reader.js';
import { hourlyDimensions, hourRowsSql, type HourlyDimension } from '../rollup/usage-hourly-sql.js';
import { defineRoute } from '../route.js';

const query = z.strictObject({
  ...rangeFields,
  group_by: nameList(spendDimensions).describe(`Comma-separated: ${spendDimensions.join(', ')}`),
  interval: intervalField.optional().describe('Adds a `period` to each row: hour, day, week or month'),
});

const measures = {
  cost_usd: z.string().describe('Exact decimal USD'),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cached_input_tokens: z.number(),
  reasoning_tokens: z.number(),
  calls: z.number(),
};

const response = z.object({
  rows: z.array(z.object({ period: z.string().optional(), ...measures }).catchall(z.string())),
  totals: z.object(measures),
});

type MeasureRow = { cost_usd: string; input_tokens: string; output_tokens: string; cached_input_tokens: string; reasoning_tokens: string; calls: string };
const tokenFields = ['input_tokens', 'output_tokens', 'cached_input_tokens', 'reasoning_tokens', 'calls'] as const;

const rolledUp = (d: string): d is HourlyDimension => (hourlyDimensions as readonly string[]).includes(d);

/** usageMeasures over hour rows. */
const hourMeasures = `
  toString(sum(h_cost)) AS cost_usd, sum(h_input) AS input_tokens, sum(h_output) AS output_tokens,
  sum(h_cached) AS cached_input_tokens, sum(h_reasoning) AS reasoning_tokens, sum(h_calls) AS calls`;

export const spendRoute = defineRoute({
  method: 'GET',
  path: '/v1/spend',
  summary: 'Cost and tokens, grouped by any of the dimensions, optionally per period',
  tags: ['spend'],
  roles: ['query', 'admin'],
  query,
  response,
  async handler({ reader, query: q, range }) {
    const dims = q.group_by;
    const select = [...dims, ...(q.interval ? [periodColumn(q.interval)] : [])];
    const groupBy = [...dims, ...(q.interval ? ['period'] : [])];
    // Whole hours the hourly rollup holds come from it, the rest live: the same numbers either way.
    const watermark = dims.every(rolledUp) ? await reader.usageRollupWatermark() : null;
    const rows = await reader.rows<MeasureRow & Record<string, string>>(
      watermark === null
        ? `SELECT ${[...select, usageMeasures].join(', ')}
           FROM ${usageFrom}
           WHERE ${usageScope}
           ${groupBy.length ? `GROUP BY ${groupBy.join(', ')}` : ''}
           ${groupBy.length ? `ORDER BY ${q.interval ? 'period, ' : ''}sum(alloc_cost_usd) DESC` : ''}`
        : `SELECT ${[...dims, ...(q.interval ? [periodColumn(q.interval, 'h_hour')] : []), hourMeasures].join(', ')}
           FROM (${hourRowsSql})
           ${groupBy.length ? `GROUP BY ${groupBy.join(', ')}` : ''}
           ${groupBy.length ? `ORDER BY ${q.interval ? 'period, ' : ''}sum(h_cost) DESC` : ''}`,
      watermark === null ? rangeParams(range) : hourRowsParams(range, watermark),
    );
    const shaped = rows
      .filter((r) => groupBy.length > 0 || Number(r.calls) > 0 || r.cost_usd !== '0')
      .map((r) => ({
        ...Object.fromEntries(dims.map((d) => [d, r[d] ?? ''])),
        ...(q.interval ? { period: r.period } : {}),
        cost_usd: r.cost_usd,
        ...Object.fromEntries(tokenFields.map((f) => [f, Number(r[f])])),
      }));
    const totals = {
      cost_usd: sumUsd(rows.map((r) => r.cost_usd)),
      ...Object.fromEntries(tokenFields.map((f) => [f, rows.reduce((sum, r) => sum + Number(r[f]), 0)])),
    };
    return { rows: groupBy.length ? shaped : [], totals };
  },
});
