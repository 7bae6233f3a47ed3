import { z } from 'zod';
import { decimalToNanos, nanosToDecimal } from '@tokenledger/schemas';
import { rangeFields } from '../params.js';
import { rangeParams, type Reader } from '../reader.js';
import { latestOutcomes } from '../rollup/outcome-hourly-sql.js';
import { liveRunsSql, rolledCandidatesSql, rolledTopRunsSql, runTotalsSelect, runVersionsSql } from '../rollup/run-totals-sql.js';
import { defineRoute } from '../route.js';
import { candidatesFor, exactTop, mergeTop, type RunOrder, type RunTotals, type RunVersion } from '../run-ranking.js';

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
    const top = watermark === null
      ? await reader.rows<RunTotals>(`${runTotalsSelect(inRange)} ORDER BY ${order} DESC, r_run LIMIT {limit:UInt32}`, params)
      : await rolledAndLiveTop(reader, order, q.limit, { ...params, watermark });
    const runs = top.map((r) => r.r_run);
    // The latest outcome (by occurred_at) among the outcomes whose latest row claims the run.
    const statuses = runs.length === 0 ? [] : await reader.rows<{ run_id: string; latest_status: string }>(
      `SELECT run_id, argMax(status, occurred_at) AS latest_status
       FROM (${latestOutcomes('hasAny(run_ids, {runs:Array(String)})')})
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

/**
 * The top `limit` runs once the rollup has a watermark: the live set and its top computed from
 * the facts, alongside the rollup's candidates (no FINAL) and their runs' latest versions (by
 * primary key; see exactTop). When the candidates do not settle it, the rollup is read with FINAL
 * instead (the former path) rather than reading more candidates: its cost is one known pass,
 * where more candidates could miss again, and a miss is rare. A run's cost and retry tax only
 * grow as calls are added (a later attempt only turns earlier ones into retry tax), so a stale
 * version ranks after its latest unless facts were rewritten lower: a miss takes fewer than
 * `limit` runs among the 4 × limit + 32 rows read, over four versions a run not merged yet.
 */
async function rolledAndLiveTop(reader: Reader, order: RunOrder, limit: number, params: Record<string, unknown>): Promise<RunTotals[]> {
  const requested = candidatesFor(limit);
  const liveSide = async (): Promise<[Set<string>, RunTotals[]]> => {
    const live = (await reader.rows<{ run_id: string }>(liveRunsSql, params)).map((r) => r.run_id);
    return [new Set(live), live.length === 0 ? [] : await reader.rows<RunTotals>(
      `${runTotalsSelect(`${inRange} AND run_id IN {live:Array(String)}`)} ORDER BY ${order} DESC, r_run LIMIT {limit:UInt32}`, { ...params, live })];
  };
  const rolledSide = async (): Promise<[RunVersion[], Map<string, string>]> => {
    const candidates = await reader.rows<RunVersion>(rolledCandidatesSql(order), { ...params, candidates: requested });
    const runs = [...new Set(candidates.map((r) => r.r_run))];
    const versions = runs.length === 0 ? [] : await reader.rows<{ r_run: string; r_version: string }>(runVersionsSql, { ...params, runs });
    return [candidates, new Map(versions.map((v) => [v.r_run, String(v.r_version)]))];
  };
  const [[live, liveTop], [candidates, latest]] = await Promise.all([liveSide(), rolledSide()]);
  const exact = exactTop({ order, limit, requested, candidates, latest, live, liveTop });
  if (exact) return exact;
  // The rollup's top from the latest versions (top `limit` of S): with S \ L's share of T's top
  // among them (S's runs are runs of T, valued alike), and L's in liveTop.
  const rolled = await reader.rows<RunTotals>(rolledTopRunsSql(order), params);
  return mergeTop(rolled, live, liveTop, order, limit);
}
