import { type ClickHouseClient, type Logger, type ProjectionRow } from '@tokenledger/infra';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { chunk } from './hours.js';
import { rollUpHoursSql, usageHourlyName } from './usage-hourly-sql.js';

export interface UsageRollupOptions {
  clickhouse: ClickHouseClient;
  /** The projections known (re-read by the caller): the served one is rolled up. */
  projections: () => ProjectionRow[];
  /** Facts are rolled up once they are this old, so an insert still committing is never skipped. */
  visibilityLagMs: number;
  intervalMs: number;
  /** Hours recomputed per INSERT. */
  hoursPerInsert: number;
  log: Logger;
  metrics: Registry;
}

export interface RollupPass {
  projection: number;
  hours: number;
  writtenUntil: string;
}

/**
 * Keeps usage_hourly current (infra/migrations/0009_usage_hourly.sql). Each pass, per
 * projection: takes the watermark W' = now − visibility lag, finds the hours with a fact written
 * in (W, W'], recomputes each from the deduplicated facts under version W' (µs), records their
 * version, then records W'. A crash before that record leaves W: those hours stay "written
 * since W", so readers compute them live, and the next pass redoes them.
 *
 * Only the served projection is rolled up: a projection being built by a replay from a date
 * gets facts copied with their original written_at, which a watermark would miss; it is
 * rolled up from the start once served (readers compute it live until then).
 */
export class UsageRollup {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private failing = false;
  private readonly lag: Gauge;
  private readonly passSeconds: Histogram;
  private readonly hoursRolled: Counter;

  constructor(private readonly o: UsageRollupOptions) {
    const registers = [o.metrics];
    this.lag = new Gauge({
      name: 'tokenledger_rollup_lag_seconds', help: 'How far behind now the rollup watermark is, per rollup and projection',
      labelNames: ['rollup', 'projection'], registers,
    });
    this.passSeconds = new Histogram({ name: 'tokenledger_rollup_pass_seconds', help: 'Time per rollup pass', labelNames: ['rollup'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers });
    this.hoursRolled = new Counter({ name: 'tokenledger_rollup_hours_total', help: 'Tenant-hours recomputed', labelNames: ['rollup'], registers });
  }

  get isHealthy(): boolean {
    return !this.failing;
  }

  start(): void {
    const tick = () => {
      this.running = this.runOnce()
        .then(() => void (this.failing = false))
        .catch((error: unknown) => {
          this.failing = true;
          this.o.log.warn({ event: 'rollup_failed', rollup: usageHourlyName, err: error }, 'rollup pass failed; retrying');
        })
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every served projection, after any pass under way. */
  runOnce(): Promise<RollupPass[]> {
    const pass = this.queue.then(async () => {
      const done: RollupPass[] = [];
      for (const row of this.o.projections()) if (row.state === 'serving') done.push(await this.passFor(row.projection));
      return done;
    });
    this.queue = pass.catch(() => undefined);
    return pass;
  }

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    return (await this.o.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  }

  private async passFor(projection: number): Promise<RollupPass> {
    const { o } = this;
    const stopTimer = this.passSeconds.startTimer({ rollup: usageHourlyName });
    const [progress] = await this.rows<{ written_until: string; rolled: string }>(
      `SELECT toString(max(written_until)) AS written_until, count() AS rolled FROM rollup_progress
       WHERE name = {name:String} AND projection = {projection:UInt32}`, { name: usageHourlyName, projection },
    );
    const from = progress && progress.rolled !== '0' ? progress.written_until : '1970-01-01 00:00:00.000000';
    const [{ until, version }] = (await this.rows<{ until: string; version: string }>(
      `SELECT toString(now64(6) - toIntervalMillisecond({lag:UInt32})) AS until,
              toUnixTimestamp64Micro(now64(6) - toIntervalMillisecond({lag:UInt32})) AS version`, { lag: o.visibilityLagMs },
    )) as [{ until: string; version: string }];
    const dirty = await this.rows<{ tenant_id: string; hours: string[] }>(
      `SELECT tenant_id, arraySort(groupUniqArray(toString(toStartOfHour(occurred_at)))) AS hours FROM usage_facts
       WHERE projection = {projection:UInt32}
         AND written_at > toDateTime64({from:String}, 6) AND written_at <= toDateTime64({until:String}, 6)
       GROUP BY tenant_id`, { projection, from, until },
    );
    let hours = 0;
    for (const { tenant_id: tenant, hours: tenantHours } of dirty) {
      for (const part of chunk(tenantHours, o.hoursPerInsert)) {
        await o.clickhouse.command({ query: rollUpHoursSql, query_params: { tenant, projection, version, hours: part } });
        await o.clickhouse.insert({
          table: 'usage_hourly_versions',
          values: part.map((hour) => ({ tenant_id: tenant, projection, hour, version })),
          format: 'JSONEachRow',
        });
        hours += part.length;
      }
    }
    await o.clickhouse.insert({
      table: 'rollup_progress', values: [{ name: usageHourlyName, projection, written_until: until }], format: 'JSONEachRow',
    });
    this.hoursRolled.inc({ rollup: usageHourlyName }, hours);
    this.lag.set({ rollup: usageHourlyName, projection: String(projection) }, (Date.now() - Date.parse(`${until.replace(' ', 'T')}Z`)) / 1000);
    const seconds = stopTimer();
    if (hours > 0) o.log.info({ event: 'rollup_pass', rollup: usageHourlyName, projection, hours, written_until: until, seconds }, 'rolled up hours');
    return { projection, hours, writtenUntil: until };
  }
}

/** The watermark of the usage rollup for a projection, or null when it has never run for it. */
export async function usageWatermark(clickhouse: ClickHouseClient, projection: number): Promise<string | null> {
  const [row] = await (await clickhouse.query({
    query: `SELECT toString(max(written_until)) AS written_until, count() AS rolled FROM rollup_progress
            WHERE name = {name:String} AND projection = {projection:UInt32}`,
    query_params: { name: usageHourlyName, projection },
    format: 'JSONEachRow',
  })).json<{ written_until: string; rolled: string }>();
  return row && row.rolled !== '0' ? row.written_until : null;
}

