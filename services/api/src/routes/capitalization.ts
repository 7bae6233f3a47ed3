import { z } from 'zod';
import { usageFrom, usageScope } from '../facts-sql.js';
import { sumUsd } from '../money.js';
import { rangeFields } from '../params.js';
import { rangeParams } from '../reader.js';
import { defineRoute } from '../route.js';

const query = z.strictObject({ ...rangeFields });

const usd = z.string().describe('Exact decimal USD');
const measures = {
  capex_usd: usd.describe('Capitalizable: allocations classified capex (ASC 350-40 application development)'),
  opex_usd: usd.describe('Operating: every other allocation'),
  total_usd: usd,
};

const response = z.object({
  rows: z.array(z.object({ month: z.string().describe('YYYY-MM (UTC)'), investment: z.string().describe("'' when the cost names none"), ...measures })),
  totals: z.object(measures),
});

type Row = { month: string; investment: string; capex_usd: string; opex_usd: string; total_usd: string };

export const capitalizationRoute = defineRoute({
  method: 'GET',
  path: '/v1/capitalization',
  summary: 'Capitalizable (capex) versus operating (opex) token cost per investment per month',
  tags: ['spend'],
  roles: ['query', 'admin'],
  query,
  response,
  async handler({ reader, range }) {
    const rows = await reader.rows<Row>(
      `SELECT formatDateTime(toStartOfMonth(occurred_at), '%Y-%m', 'UTC') AS month, investment,
              toString(sumIf(alloc_cost_usd, capex_class = 'capex')) AS capex_usd,
              toString(sumIf(alloc_cost_usd, capex_class != 'capex')) AS opex_usd,
              toString(sum(alloc_cost_usd)) AS total_usd
       FROM ${usageFrom}
       WHERE ${usageScope}
       GROUP BY month, investment
       ORDER BY month, investment`,
      rangeParams(range),
    );
    const sum = (key: keyof typeof measures) => sumUsd(rows.map((r) => r[key]));
    return { rows, totals: { capex_usd: sum('capex_usd'), opex_usd: sum('opex_usd'), total_usd: sum('total_usd') } };
  },
});
