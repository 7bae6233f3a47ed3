import { z } from 'zod';
import { periodColumn, spendDimensions, usageFrom, usageMeasures, usageScope } from '../facts-sql.js';
import { sumUsd } from '../money.js';
import { intervalField, nameList, rangeFields } from '../params.js';
import { rangeParams } from '../reader.js';
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
    const rows = await reader.rows<MeasureRow & Record<string, string>>(
      `SELECT ${[...select, usageMeasures].join(', ')}
       FROM ${usageFrom}
       WHERE ${usageScope}
       ${groupBy.length ? `GROUP BY ${groupBy.join(', ')}` : ''}
       ${groupBy.length ? `ORDER BY ${q.interval ? 'period, ' : ''}sum(alloc_cost_usd) DESC` : ''}`,
      rangeParams(range),
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
