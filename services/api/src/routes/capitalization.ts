import { z } from 'zod';
import { usageFrom, usageScope } from '../facts-sql.js';
import { sumUsd } from '../money.js';
import { rangeFields } from '../params.js';
import { hourRowsParams, rangeParams } from '../reader.js';
import { hourRowsSql } from '../rollup/usage-hourly-sql.js';
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

/** Capex, opex and total per month and investment over `from` (its time and cost columns named). */
function capitalizationSql(time: string, cost: string, from: string): string {
  return `SELECT formatDateTime(toStartOfMonth(${time}), '%Y-%m', 'UTC') AS month, investment,
            toString(sumIf(${cost}, capex_class = 'capex')) AS capex_usd,
            toString(sumIf(${cost}, capex_class != 'capex')) AS opex_usd,
            toString(sum(${cost})) AS total_usd
          FROM ${from}
          GROUP BY month, investment
          ORDER BY month, investment`;
}

export const capitalizationRoute = defineRoute({
  method: 'GET',
  path: '/v1/capitalization',
  summary: 'Capitalizable (capex) versus operating (opex) token cost per investment per month',
  tags: ['spend'],
  roles: ['query', 'admin'],
  query,
  response,
  async handler({ reader, range }) {
    // Whole hours the hourly rollup holds come from it (investment and capex class are among its
    // dimensions), the rest live: the same numbers either way, as in /v1/spend.
    const watermark = await reader.usageRollupWatermark();
    const rows = await reader.rows<Row>(
      watermark === null
        ? capitalizationSql('occurred_at', 'alloc_cost_usd', `${usageFrom} WHERE ${usageScope}`)
        : capitalizationSql('h_hour', 'h_cost', `(${hourRowsSql})`),
      watermark === null ? rangeParams(range) : hourRowsParams(range, watermark),
    );
    const sum = (key: keyof typeof measures) => sumUsd(rows.map((r) => r[key]));
    return { rows, totals: { capex_usd: sum('capex_usd'), opex_usd: sum('opex_usd'), total_usd: sum('total_usd') } };
  },
});
