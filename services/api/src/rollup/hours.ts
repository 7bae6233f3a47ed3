/** Consecutive slices of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Rows (of a rollup table or its members) of their hour's latest version in `versionsTable`,
 * among the hours of the request's tenant and projection matching `hours` (SQL over `hour`).
 */
export function atLatestVersion(versionsTable: string, hours: string): string {
  return `(hour, version) IN (
      SELECT hour, max(version) FROM ${versionsTable}
      WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND ${hours}
      GROUP BY hour)`;
}

const wholeHoursInRange = "hour >= {from_hour:DateTime('UTC')} AND hour < {to_hour:DateTime('UTC')}";

/**
 * The WHERE of an hourly rollup's rows a reader serves: the request's tenant and projection, the
 * whole hours [from_hour, to_hour), each hour's latest version in `versionsTable`, and none of
 * the scalar `dirty_hours` (hours written since the watermark, computed live instead).
 */
export function servedHoursWhere(versionsTable: string): string {
  return `tenant_id = {tenant:String} AND projection = {projection:UInt32} AND ${wholeHoursInRange}
    AND ${atLatestVersion(versionsTable, wholeHoursInRange)}
    AND NOT has(dirty_hours, hour)`;
}
