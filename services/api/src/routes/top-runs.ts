import { z } from 'zod';
import { rangeFields } from '../params.js';
import { rangeParams } from '../reader.js';
import { defineRoute } from '../route.js';

const query = z.strictObject({
  ...rangeFields,
  by: z.enum(['retry_tax', 'cost'], { error: 'must be retry_tax or cost' }).default('retry_tax').describe('Rank by retry tax or by cost'),
  limit: z.coerce.number({ error: 'must be an integer from 1 to 500' }).int().min(1).max(500).default(10).describe('How many runs (1-500)'),
});

const row = z.object({
  run_id: z.string(),
  cost_usd: z.string(),
  retry_tax_usd: z.string().describe('Cost of failed calls and of attempts a later attempt of the same step replaced'),
  calls: z.number(),
  first_at: z.string(),
  last_at: z.string(),
  outcome_status: z.string().nullable().describe('Status of the latest outcome claiming the run, if any'),
});

/** The runs that cost most, or wasted most on retries: where to look first. */
export const topRunsRoute = defineRoute({
  method: 'GET',
  path: '/v1/top-runs',
  summary: 'Runs ranked by retry tax (or cost), with their outcome',
  tags: ['waste'],
  roles: ['query', 'admin'],
  query,
  response: z.object({ rows: z.array(row) }),
  async handler({ reader, query: q, range }) {
    const rows = await reader.rows<{ run_id: string; cost_usd: string; retry_tax_usd: string; calls: string; first_at: string; last_at: string; outcome_status: string }>(
      // Aliases differ from column names: in ClickHouse an alias replaces the column it shadows.
      `SELECT u.run_id AS run_id, toString(sum(call_cost)) AS cost_usd,
              toString(sumIf(call_cost, u.status != 'ok' OR attempt < step_max_attempt)) AS retry_tax_usd,
              count() AS calls,
              formatDateTime(min(occurred_at), '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS first_at,
              formatDateTime(max(occurred_at), '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS last_at,
              any(o.latest_status) AS outcome_status
       FROM (
         SELECT run_id, cost_usd AS call_cost, status, attempt, max(attempt) OVER (PARTITION BY run_id, step) AS step_max_attempt, occurred_at
         FROM usage_facts FINAL
         WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
           AND occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}
       ) AS u
       LEFT JOIN (
         SELECT run_id, argMax(status, occurred_at) AS latest_status
         FROM outcome_facts FINAL ARRAY JOIN run_ids AS run_id
         WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
         GROUP BY run_id
       ) AS o ON o.run_id = u.run_id
       GROUP BY u.run_id
       ORDER BY ${q.by === 'cost' ? 'sum(call_cost)' : "sumIf(call_cost, u.status != 'ok' OR attempt < step_max_attempt)"} DESC, run_id
       LIMIT {limit:UInt32}
       SETTINGS join_use_nulls = 1`,
      { ...rangeParams(range), limit: q.limit },
    );
    return { rows: rows.map((r) => ({ ...r, calls: Number(r.calls), outcome_status: r.outcome_status || null })) };
  },
});
