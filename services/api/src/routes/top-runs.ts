import { z } from 'zod';
import { decimalToNanos, nanosToDecimal } from '@tokenledger/schemas';
import { rangeFields } from '../params.js';
import { rangeParams } from '../reader.js';
import { liveRunsSql, rolledTopRunsSql, runTotalsSelect } from '../rollup/run-totals-sql.js';
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

/** A run's totals over its calls in range, as runTotalsSelect returns them. */
interface RunTotals { r_run: string; r_first: string; r_last: string; r_calls: string; r_cost: string; r_tax: string }

/** The runs in range with the highest `order`, then by run id (byte order, as ClickHouse sorts). */
function topOf(runs: RunTotals[], order: 'r_cost' | 'r_tax', limit: number): RunTotals[] {
  const keyed = runs.map((r) => ({ r, key: decimalToNanos(r[order]), id: Buffer.from(r.r_run) }));
  keyed.sort((a, b) => (a.key === b.key ? Buffer.compare(a.id, b.id) : a.key > b.key ? -1 : 1));
  return keyed.slice(0, limit).map(({ r }) => r);
}

const inRange = `tenant_id = {tenant:String} AND projection = {projection:UInt32}
  AND occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}`;

/** Canonical decimal text (no trailing zeros), as toString of a ClickHouse Decimal gives it. */
const canonical = (usd: string) => nanosToDecimal(decimalToNanos(usd));

/** RFC 3339 (seconds) of a ClickHouse DateTime64 text. */
const rfc3339 = (t: string) => `${t.slice(0, 19).replace(' ', 'T')}Z`;

/**
 * The runs that cost most, or wasted most on retries, over their calls in [from, to): where to
 * look first. Runs wholly inside the range and unchanged since the per-run rollup's watermark
 * come from run_totals; the rest (runs crossing the range's ends, runs written since) are
 * computed live from the facts; the two top lists are merged. Outcome status is read for the
 * runs returned only.
 */
export const topRunsRoute = defineRoute({
  method: 'GET',
  path: '/v1/top-runs',
  summary: 'Runs ranked by retry tax (or cost), with their outcome',
  tags: ['waste'],
  roles: ['query', 'admin'],
  query,
  response: z.object({ rows: z.array(row) }),
  async handler({ reader, query: q, range }) {
    const order = q.by === 'cost' ? 'r_cost' : 'r_tax';
    const params = { ...rangeParams(range), limit: q.limit };
    const watermark = await reader.runRollupWatermark();
    let top: RunTotals[];
    if (watermark === null) {
      top = await reader.rows<RunTotals>(`${runTotalsSelect(inRange)} ORDER BY ${order} DESC, r_run LIMIT {limit:UInt32}`, params);
    } else {
      const liveTop = async (): Promise<RunTotals[]> => {
        const live = (await reader.rows<{ run_id: string }>(liveRunsSql, { ...params, watermark })).map((r) => r.run_id);
        return live.length === 0 ? [] : reader.rows<RunTotals>(
          `${runTotalsSelect(`${inRange} AND run_id IN {live:Array(String)}`)} ORDER BY ${order} DESC, r_run LIMIT {limit:UInt32}`, { ...params, live });
      };
      const [rolled, computed] = await Promise.all([reader.rows<RunTotals>(rolledTopRunsSql(order), { ...params, watermark }), liveTop()]);
      top = topOf([...rolled, ...computed], order, q.limit);
    }
    const runs = top.map((r) => r.r_run);
    // The latest outcome (by occurred_at) among the outcomes whose latest row claims the run.
    const statuses = runs.length === 0 ? [] : await reader.rows<{ run_id: string; latest_status: string }>(
      `SELECT run_id, argMax(status, occurred_at) AS latest_status
       FROM (
         SELECT status, occurred_at, run_ids FROM outcome_facts FINAL
         WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
           AND outcome_id IN (SELECT outcome_id FROM outcome_facts
                              WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND hasAny(run_ids, {runs:Array(String)})))
       ARRAY JOIN run_ids AS run_id
       WHERE run_id IN {runs:Array(String)}
       GROUP BY run_id`,
      { runs },
    );
    const status = new Map(statuses.map((s) => [s.run_id, s.latest_status]));
    return {
      rows: top.map((r) => ({
        run_id: r.r_run, cost_usd: canonical(r.r_cost), retry_tax_usd: canonical(r.r_tax), calls: Number(r.r_calls),
        first_at: rfc3339(r.r_first), last_at: rfc3339(r.r_last), outcome_status: status.get(r.r_run) || null,
      })),
    };
  },
});
