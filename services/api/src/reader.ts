import { clickHouseTime, type ClickHouseClient } from '@tokenledger/infra';
import type { Range } from './params.js';
import { liveOutcomeRowsSql, outcomeHourlyName, outcomeRowsSql } from './rollup/outcome-hourly-sql.js';
import { runTotalsName } from './rollup/run-totals-sql.js';
import { usageHourlyName, wholeHours } from './rollup/usage-hourly-sql.js';
import type { Watermarks } from './rollup/watermarks.js';

/**
 * Reads for one request: every query is bound to the caller's tenant and the served projection
 * (`{tenant:String}`, `{projection:UInt32}`), so no query can see another tenant's rows.
 */
export class Reader {
  constructor(
    private readonly clickhouse: ClickHouseClient,
    readonly tenantId: string,
    readonly projection: number,
    /** The rollups' watermarks: read through the rollups where they are current (null: always from the facts). */
    private readonly watermarks: Watermarks | null,
  ) {}

  async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await this.clickhouse.query({
      query,
      query_params: { ...params, tenant: this.tenantId, projection: this.projection },
      format: 'JSONEachRow',
    });
    return result.json<T>();
  }

  /** How far the hourly usage rollup has read the served projection; null before its first pass. */
  async usageRollupWatermark(): Promise<string | null> {
    return this.watermarks?.get(usageHourlyName, this.projection) ?? null;
  }

  /** How far the per-run rollup (run_totals) has read the served projection; null before its first pass. */
  async runRollupWatermark(): Promise<string | null> {
    return this.watermarks?.get(runTotalsName, this.projection) ?? null;
  }

  /**
   * Outcome rows (rollup/outcome-hourly-sql.ts) over a range and their parameters: whole hours
   * from the hourly outcome rollup where it is current, the rest live; all live before its first pass.
   */
  async outcomeRows(range: Range): Promise<{ sql: string; params: Record<string, string> }> {
    const watermark = (await this.watermarks?.get(outcomeHourlyName, this.projection)) ?? null;
    return watermark === null
      ? { sql: liveOutcomeRowsSql, params: rangeParams(range) }
      : { sql: outcomeRowsSql, params: hourRowsParams(range, watermark) };
  }

  /**
   * Rows as they arrive, for answers too big to hold (exports). The query runs before this
   * resolves, so a failing query is an error here, before any byte of the answer is sent.
   */
  async stream<T>(query: string, params: Record<string, unknown> = {}): Promise<AsyncIterable<T>> {
    const result = await this.clickhouse.query({
      query,
      query_params: { ...params, tenant: this.tenantId, projection: this.projection },
      format: 'JSONEachRow',
    });
    return (async function* rows() {
      for await (const batch of result.stream<T>()) {
        for (const row of batch) yield row.json<T>();
      }
    })();
  }
}

/** `{from:DateTime64(3)}` and `{to:DateTime64(3)}` parameters for a range. */
export function rangeParams(range: Range): { from: string; to: string } {
  return { from: clickHouseTime(range.from), to: clickHouseTime(range.to) };
}

/** Parameters of rollup/usage-hourly-sql's hourRowsSql for a range and the rollup's watermark. */
export function hourRowsParams(range: Range, watermark: string): Record<string, string> {
  const { fromHour, toHour } = wholeHours(range.from, range.to);
  const hour = (ms: number) => clickHouseTime(ms).slice(0, 19);
  return { ...rangeParams(range), from_hour: hour(fromHour), to_hour: hour(toHour), watermark };
}
