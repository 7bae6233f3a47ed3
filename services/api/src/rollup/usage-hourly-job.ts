import { PeriodicPass, type ClickHouseClient, type Logger, type ProjectionRow } from '@tokenledger/infra';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { chunk } from './hours.js';
import { dirtyOutcomeHoursByTenantSql, outcomeHourlyName, outcomeHourlyVersions, rollUpOutcomeHoursSql, stageMembersSql } from './outcome-hourly-sql.js';
import { rollUpRunsSql, runTotalsName } from './run-totals-sql.js';
import { dirtyUsageHoursByTenantSql, rollUpHoursSql, usageHourlyName, usageHourlyVersions } from './usage-hourly-sql.js';

export interface UsageRollupOptions {
  clickhouse: ClickHouseClient;
  /** The projections known (re-read by the caller): the served one is rolled up. */
  projections: () => ProjectionRow[];
  /** Facts are rolled up once they are this old, so an insert still committing is never skipped. */
  visibilityLagMs: number;
  intervalMs: number;
  /** Hours recomputed per INSERT. */
  hoursPerInsert: number;
  /** Facts read per INSERT when recomputing runs (the dirty runs are split by hash to stay under it). */
  runFactsPerInsert?: number;
  log: Logger;
  metrics: Registry;
}

/**
 * Hours of outcomes recomputed per INSERT: outcomes are far fewer than calls, and each slice
 * reads the outcome facts with FINAL once, so a month at a time.
 */
const OUTCOME_HOURS_PER_INSERT = 744;

export interface RollupPass {
  projection: number;
  hours: number;
  writtenUntil: string;
  /** The per-run rollup (run_totals): runs recomputed, and its new watermark. */
  runs: number;
  runsWrittenUntil: string;
  /** The hourly outcome rollup (outcome_hourly): tenant-hours recomputed, and its new watermark. */
  outcomeHours: number;
  outcomesWrittenUntil: string;
}

/**
 * Keeps usage_hourly current (infra/migrations/0009_usage_hourly.sql), and run_totals
 * (0010_run_totals.sql) and outcome_hourly (0012_outcome_hourly.sql) the same way, each with its
 * own watermark (see runsPassFor and outcomesPassFor). Each pass, per
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
  private readonly loop: PeriodicPass<RollupPass[]>;
  private readonly lag: Gauge;
  private readonly passSeconds: Histogram;
  private readonly hoursRolled: Counter;

  constructor(private readonly o: UsageRollupOptions) {
    this.loop = new PeriodicPass({ name: 'rollup', intervalMs: o.intervalMs, log: o.log, pass: () => this.pass() });
    const registers = [o.metrics];
    this.lag = new Gauge({
      name: 'tokenledger_rollup_lag_seconds', help: 'How far behind now the rollup watermark is, per rollup and projection',
      labelNames: ['rollup', 'projection'], registers,
    });
    this.passSeconds = new Histogram({ name: 'tokenledger_rollup_pass_seconds', help: 'Time per rollup pass', labelNames: ['rollup'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers });
    this.hoursRolled = new Counter({ name: 'tokenledger_rollup_hours_total', help: 'Tenant-hours (usage_hourly) or runs (run_totals) recomputed', labelNames: ['rollup'], registers });
  }

  get isHealthy(): boolean {
    return this.loop.isHealthy;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass over every served projection, after any pass under way. */
  runOnce(): Promise<RollupPass[]> {
    return this.loop.runOnce();
  }

  private async pass(): Promise<RollupPass[]> {
    const done: RollupPass[] = [];
    for (const row of this.o.projections()) {
      if (row.state !== 'serving') continue;
      const hours = await this.usagePassFor(row.projection);
      const runs = await this.runsPassFor(row.projection);
      const outcomes = await this.outcomesPassFor(row.projection);
      done.push({
        projection: row.projection, hours: hours.hours, writtenUntil: hours.writtenUntil,
        runs: runs.runs, runsWrittenUntil: runs.writtenUntil, outcomeHours: outcomes.hours, outcomesWrittenUntil: outcomes.writtenUntil,
      });
    }
    return done;
  }

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    return (await this.o.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  }

  /** A rollup's pass window: from its watermark (the epoch before its first pass) to now − lag, and that as a version (µs). */
  private async window(name: string, projection: number): Promise<{ from: string; until: string; version: string }> {
    const from = (await rollupWatermark(this.o.clickhouse, name, projection)) ?? '1970-01-01 00:00:00.000000';
    const [{ until, version }] = (await this.rows<{ until: string; version: string }>(
      `SELECT toString(now64(6) - toIntervalMillisecond({lag:UInt32})) AS until,
              toUnixTimestamp64Micro(now64(6) - toIntervalMillisecond({lag:UInt32})) AS version`, { lag: this.o.visibilityLagMs },
    )) as [{ until: string; version: string }];
    return { from, until, version };
  }

  /**
   * run_totals (infra/migrations/0010_run_totals.sql): every run with a fact written in (W, W']
   * recomputed from all its deduplicated calls under version W', then W' recorded; a crash
   * before that leaves W, so readers compute those runs live and the next pass redoes them.
   */
  private async runsPassFor(projection: number): Promise<{ runs: number; writtenUntil: string }> {
    const { o } = this;
    const stopTimer = this.passSeconds.startTimer({ rollup: runTotalsName });
    const { from, until, version } = await this.window(runTotalsName, projection);
    const dirty = await this.rows<{ tenant_id: string; facts: string; runs: string }>(
      `SELECT tenant_id, count() AS facts, uniqExact(run_id) AS runs FROM usage_facts
       WHERE projection = {projection:UInt32}
         AND written_at > toDateTime64({from:String}, 6) AND written_at <= toDateTime64({until:String}, 6)
       GROUP BY tenant_id`, { projection, from, until },
    );
    let runs = 0;
    for (const { tenant_id: tenant, facts, runs: tenantRuns } of dirty) {
      const parts = Math.max(1, Math.ceil(Number(facts) / (o.runFactsPerInsert ?? 2_000_000)));
      for (let part = 0; part < parts; part++) {
        await o.clickhouse.command({ query: rollUpRunsSql, query_params: { tenant, projection, version, from, until, parts, part } });
      }
      runs += Number(tenantRuns);
    }
    await this.recordPass(runTotalsName, projection, until, runs, stopTimer);
    return { runs, writtenUntil: until };
  }

  /**
   * outcome_hourly (infra/migrations/0012_outcome_hourly.sql): the hours of the outcomes written
   * in (W, W'] and every hour those were counted in, recomputed under version W': per slice of
   * hours, each outcome in them is staged with its values (members), the members are summed
   * into the rollup, and the hours' version recorded. A crash before W' is recorded leaves W:
   * readers compute those hours live, the next pass redoes them, and the members it staged only
   * add hours to recompute.
   */
  private outcomesPassFor(projection: number): Promise<{ hours: number; writtenUntil: string }> {
    return this.hoursPassFor(
      outcomeHourlyName, projection, dirtyOutcomeHoursByTenantSql, [stageMembersSql, rollUpOutcomeHoursSql], outcomeHourlyVersions,
      OUTCOME_HOURS_PER_INSERT,
    );
  }

  /** usage_hourly: the hours with a usage fact written in (W, W'], recomputed under version W'. */
  private usagePassFor(projection: number): Promise<{ hours: number; writtenUntil: string }> {
    return this.hoursPassFor(usageHourlyName, projection, dirtyUsageHoursByTenantSql, [rollUpHoursSql], usageHourlyVersions, this.o.hoursPerInsert);
  }

  /**
   * One pass of an hourly rollup: the hours `dirtySql` finds per tenant in (W, W'] (parameters
   * projection, from, until), recomputed in slices of `hoursPerInsert` by `statements` (parameters tenant,
   * projection, hours, version), each slice's version then recorded in `versionsTable`, and W'
   * recorded last.
   */
  private async hoursPassFor(
    name: string, projection: number, dirtySql: string, statements: readonly string[], versionsTable: string, hoursPerInsert: number,
  ): Promise<{ hours: number; writtenUntil: string }> {
    const { o } = this;
    const stopTimer = this.passSeconds.startTimer({ rollup: name });
    const { from, until, version } = await this.window(name, projection);
    const dirty = await this.rows<{ tenant_id: string; hours: string[] }>(dirtySql, { projection, from, until });
    let hours = 0;
    for (const { tenant_id: tenant, hours: tenantHours } of dirty) {
      for (const part of chunk(tenantHours, hoursPerInsert)) {
        for (const query of statements) {
          await o.clickhouse.command({ query, query_params: { tenant, projection, version, hours: part } });
        }
        await o.clickhouse.insert({
          table: versionsTable, values: part.map((hour) => ({ tenant_id: tenant, projection, hour, version })), format: 'JSONEachRow',
        });
        hours += part.length;
      }
    }
    await this.recordPass(name, projection, until, hours, stopTimer);
    return { hours, writtenUntil: until };
  }

  /** Records a pass's watermark, then its metrics and log line (`done`: hours or runs recomputed). */
  private async recordPass(name: string, projection: number, until: string, done: number, stopTimer: () => number): Promise<void> {
    await this.o.clickhouse.insert({
      table: 'rollup_progress', values: [{ name, projection, written_until: until }], format: 'JSONEachRow',
    });
    this.hoursRolled.inc({ rollup: name }, done);
    this.lag.set({ rollup: name, projection: String(projection) }, (Date.now() - Date.parse(`${until.replace(' ', 'T')}Z`)) / 1000);
    const seconds = stopTimer();
    if (done > 0) this.o.log.info({ event: 'rollup_pass', rollup: name, projection, recomputed: done, written_until: until, seconds }, `rolled up ${name}`);
  }
}

/** The watermark of a rollup (its name in rollup_progress) for a projection, or null when it has never run for it. */
export async function rollupWatermark(clickhouse: ClickHouseClient, name: string, projection: number): Promise<string | null> {
  const [row] = await (await clickhouse.query({
    query: `SELECT toString(max(written_until)) AS written_until, count() AS rolled FROM rollup_progress
            WHERE name = {name:String} AND projection = {projection:UInt32}`,
    query_params: { name, projection },
    format: 'JSONEachRow',
  })).json<{ written_until: string; rolled: string }>();
  return row && row.rolled !== '0' ? row.written_until : null;
}

