/**
 * Top runs from the per-run rollup read without FINAL (candidates of any version, checked against
 * each run's latest version) and the runs computed live: pure functions, so the proof below is
 * tested on generated cases (run-ranking.test.ts). The route is routes/top-runs.ts.
 */
import { decimalToNanos } from '@tokenledger/schemas';

/** A run's totals over its calls in range, as runTotalsSelect returns them. */
export interface RunTotals { r_run: string; r_first: string; r_last: string; r_calls: string; r_cost: string; r_tax: string }

/** One version of a run's totals in run_totals, read without FINAL. */
export interface RunVersion extends RunTotals { r_version: string }

/** Rank by cost or by retry tax. */
export type RunOrder = 'r_cost' | 'r_tax';

interface RankKey { value: bigint; id: Buffer }

const rankKey = (r: RunTotals, order: RunOrder): RankKey => ({ value: decimalToNanos(r[order]), id: Buffer.from(r.r_run) });

/** Ranking: `value` descending, then run id in byte order (as ClickHouse sorts). */
const compareKeys = (a: RankKey, b: RankKey): number => (a.value === b.value ? Buffer.compare(a.id, b.id) : a.value > b.value ? -1 : 1);

/** The runs with the highest `order`, then by run id. */
function topOf(runs: RunTotals[], order: RunOrder, limit: number): RunTotals[] {
  const keyed = runs.map((r) => ({ r, key: rankKey(r, order) }));
  keyed.sort((a, b) => compareKeys(a.key, b.key));
  return keyed.slice(0, limit).map(({ r }) => r);
}

/** Rolled-up rows read (any version) for `limit` runs asked: room for stale versions among them. */
export const candidatesFor = (limit: number): number => 4 * limit + 32;

/**
 * The top `limit` runs from the rollup's candidates and the runs computed live, or null when
 * these cannot be shown to hold it (the caller then reads the rollup with FINAL).
 *
 * Why exact. T, the runs with a call in [from, to) valued over those calls, is made of L, the
 * live set (each run in it computed from the facts: exact), and S \ L, S the runs with nothing
 * written after the watermark whose latest version (their whole run) is wholly inside the range:
 * any other run of T has a fact written since, or a latest version reaching into the range
 * across one of its ends, so it is in L. `candidates` are the first `requested` rows (any
 * version) wholly inside and not written since, ranked; K the key (value, run id) of the last.
 * V, the runs read whose latest version (`latest`) is among the rows read, outside L, valued by
 * that row, are runs of S \ L, exactly valued. A run of S \ L not in V did not have its latest
 * row read: that row ranks at or after K (after, if fewer than `requested` rows came: then all
 * were read, and V = S \ L). If at least `limit` runs of V and liveTop (the top `limit` of L)
 * rank at or before K, any run of T in neither ranks after `limit` of them: one of L after
 * liveTop's `limit` runs, one of S \ L at or after K, so after the runs counted (other runs, at
 * or before K). Either way the top `limit` of T is the top of V and liveTop.
 */
export function exactTop(o: {
  order: RunOrder; limit: number; requested: number;
  candidates: RunVersion[]; latest: ReadonlyMap<string, string>; live: ReadonlySet<string>; liveTop: RunTotals[];
}): RunTotals[] | null {
  const verified = new Map<string, RunTotals>();
  for (const r of o.candidates) {
    if (String(r.r_version) === o.latest.get(r.r_run) && !verified.has(r.r_run) && !o.live.has(r.r_run)) verified.set(r.r_run, r);
  }
  const last = o.candidates.length < o.requested ? undefined : o.candidates[o.candidates.length - 1];
  if (last) {
    const k = rankKey(last, o.order);
    const before = [...verified.values(), ...o.liveTop].filter((r) => compareKeys(rankKey(r, o.order), k) <= 0).length;
    if (before < o.limit) return null;
  }
  return mergeTop([...verified.values()], o.live, o.liveTop, o.order, o.limit);
}

/**
 * The top `limit` of rolled-up runs and of `liveTop`, the top of the live set `live`. A run can
 * be both rolled up and in the live set (which may hold runs the rollup could serve): its
 * rolled-up entry is dropped, the live one is exact.
 */
export function mergeTop(rolled: RunTotals[], live: ReadonlySet<string>, liveTop: RunTotals[], order: RunOrder, limit: number): RunTotals[] {
  return topOf([...rolled.filter((r) => !live.has(r.r_run)), ...liveTop], order, limit);
}
