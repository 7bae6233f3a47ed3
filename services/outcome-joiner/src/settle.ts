import { clickHouseTime, PeriodicPass, queryByIds, type ClickHouseClient, type Logger } from '@tokenledger/infra';
import { Counter, Histogram, type Registry } from 'prom-client';
import { recompute, type JoinStore } from './engine.js';
import type { InsertFence } from './insert-fence.js';
import { runFact } from './join.js';
import { noOutcomeRunRow, outcomeFactRow, withdrawnRunRow } from './rows.js';

/** Wall time, injectable so tests can move past the no-outcome horizon without sleeping. */
export interface Clock {
  now(): number;
}

export interface SettlerOptions {
  clickhouse: ClickHouseClient;
  /** The projections to join (every active one); each has its own usage facts and progress. */
  projections: () => number[];
  storeFor(projection: number): JoinStore;
  /** Usage whose run no outcome claims this long after its last call is spend with no outcome. */
  horizonMs: number;
  /**
   * Rows are joined once they are this old, so an insert still committing is never skipped: a
   * margin for the attributor's usage inserts (another service); this service's own outcome
   * inserts are fenced exactly.
   */
  visibilityLagMs: number;
  /** The outcome consumer's inserts: the watermark is fixed with none in flight. */
  fence: InsertFence;
  intervalMs: number;
  humanRateNanoPerHour: bigint | null;
  clock: Clock;
  log: Logger;
  metrics: Registry;
}

interface Progress {
  writtenUntil: string;
  clockAt: number;
}

type IdsByTenant = Map<string, Set<string>>;

/** Changed runs (and outcomes) recomputed together: bounds a pass's memory. */
const CHANGES_PER_SLICE = 10_000;

function addAll(target: IdsByTenant, rows: { tenant_id: string; ids: string[] }[]): void {
  for (const { tenant_id, ids } of rows) {
    const set = target.get(tenant_id) ?? new Set<string>();
    for (const id of ids) set.add(id);
    target.set(tenant_id, set);
  }
}

/**
 * The join, driven by what changed in ClickHouse since the last pass: usage facts written by
 * the attributor, outcome events written by the outcome consumer, and runs that crossed the
 * no-outcome horizon. Each pass recomputes every outcome those changes touch from the full
 * state (so arrival order never matters), writes the facts, then records how far it got.
 * A crash before that record only means the next pass redoes the same, idempotent, work.
 */
export class Settler {
  private readonly loop: PeriodicPass<{ outcomes: number; noOutcomeRuns: number }>;
  private readonly passSeconds: Histogram;
  private readonly outcomesWritten: Counter;
  private readonly noOutcomeRuns: Counter;

  constructor(private readonly o: SettlerOptions) {
    this.loop = new PeriodicPass({ name: 'settle', intervalMs: o.intervalMs, log: o.log, pass: () => this.pass() });
    const registers = [o.metrics];
    this.passSeconds = new Histogram({ name: 'tokenledger_joiner_pass_seconds', help: 'Time per settle pass', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers });
    this.outcomesWritten = new Counter({ name: 'tokenledger_joiner_outcome_facts_written_total', help: 'Outcome facts (re)written', registers });
    this.noOutcomeRuns = new Counter({ name: 'tokenledger_joiner_no_outcome_runs_total', help: 'Runs declared spend with no outcome', registers });
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

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    return (await this.o.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  }

  private async progress(name: string): Promise<Progress> {
    const [row] = await this.rows<{ written_until: string; clock_ms: string }>(
      `SELECT toString(written_until) AS written_until, toUnixTimestamp64Milli(clock_at) AS clock_ms
       FROM joiner_progress FINAL WHERE name = {name:String}`, { name },
    );
    return row ? { writtenUntil: row.written_until, clockAt: Number(row.clock_ms) } : { writtenUntil: '1970-01-01 00:00:00.000000', clockAt: 0 };
  }

  /** One pass, after any pass under way; returns how many outcome facts and no-outcome runs it wrote. */
  settleOnce(): Promise<{ outcomes: number; noOutcomeRuns: number }> {
    return this.loop.runOnce();
  }

  private async pass(): Promise<{ outcomes: number; noOutcomeRuns: number }> {
    const stopTimer = this.passSeconds.startTimer();
    const total = { outcomes: 0, noOutcomeRuns: 0 };
    for (const projection of this.o.projections()) {
      const done = await this.passFor(projection);
      total.outcomes += done.outcomes;
      total.noOutcomeRuns += done.noOutcomeRuns;
    }
    this.outcomesWritten.inc(total.outcomes);
    this.noOutcomeRuns.inc(total.noOutcomeRuns);
    stopTimer();
    return total;
  }

  /** One projection's pass. A new projection starts from nothing, so it joins everything once. */
  private async passFor(projection: number): Promise<{ outcomes: number; noOutcomeRuns: number }> {
    const { o } = this;
    const store = o.storeFor(projection);
    const progressName = `settle:${projection}`;
    const from = await this.progress(progressName);
    const [{ until }] = (await o.fence.fence(() => this.rows<{ until: string }>(
      'SELECT toString(now64(6) - toIntervalMillisecond({lag:UInt32})) AS until', { lag: o.visibilityLagMs },
    ))) as [{ until: string }];
    const clockNow = o.clock.now();
    const window = { from: from.writtenUntil, until, projection };

    const runs: IdsByTenant = new Map();
    const outcomes: IdsByTenant = new Map();
    addAll(runs, await this.rows(
      `SELECT tenant_id, groupUniqArray(run_id) AS ids FROM usage_facts
       WHERE projection = {projection:UInt32}
         AND written_at > toDateTime64({from:String}, 6) AND written_at <= toDateTime64({until:String}, 6)
       GROUP BY tenant_id`, window,
    ));
    addAll(outcomes, await this.rows(
      `SELECT tenant_id, groupUniqArray(outcome_id) AS ids FROM outcome_events
       WHERE written_at > toDateTime64({from:String}, 6) AND written_at <= toDateTime64({until:String}, 6) GROUP BY tenant_id`, window,
    ));
    // Runs whose last call crossed the horizon since the last pass.
    addAll(runs, await this.rows(
      `SELECT tenant_id, groupUniqArray(run_id) AS ids FROM (
         SELECT tenant_id, run_id, max(occurred_at) AS last FROM usage_facts
         WHERE projection = {projection:UInt32} AND occurred_at > toDateTime64({since:String}, 3)
         GROUP BY tenant_id, run_id HAVING last <= toDateTime64({cutoff:String}, 3)
       ) GROUP BY tenant_id`,
      { projection, since: clickHouseTime(Math.max(0, from.clockAt - o.horizonMs)), cutoff: clickHouseTime(clockNow - o.horizonMs) },
    ));

    let outcomeCount = 0;
    let noOutcomeCount = 0;
    for (const tenantId of new Set([...runs.keys(), ...outcomes.keys()])) {
      const runIds = [...(runs.get(tenantId) ?? [])];
      const outcomeIds = [...(outcomes.get(tenantId) ?? [])];
      // In slices, so a pass over a whole new projection (a replay of millions of calls) holds
      // one slice's calls in memory at a time; an outcome touched by two slices is recomputed
      // twice, to the same fact.
      for (let at = 0; at < Math.max(runIds.length, outcomeIds.length); at += CHANGES_PER_SLICE) {
        const changes = { tenantId, runIds: runIds.slice(at, at + CHANGES_PER_SLICE), outcomeIds: outcomeIds.slice(at, at + CHANGES_PER_SLICE) };
        const result = await recompute(store, changes, o.humanRateNanoPerHour);
        if (result.outcomes.length > 0) {
          const rows = result.outcomes.map((fact) => outcomeFactRow(fact, projection));
          await o.clickhouse.insert({ table: 'outcome_facts', values: rows, format: 'JSONEachRow' });
        }
        outcomeCount += result.outcomes.length;
        const claimedRuns = new Set(result.outcomes.flatMap((fact) => fact.run_ids));
        noOutcomeCount += await this.settleNoOutcome(store, projection, tenantId, claimedRuns, result.runsWithoutOutcome, clockNow);
      }
    }
    await o.clickhouse.insert({
      table: 'joiner_progress',
      values: [{ name: progressName, written_until: until, clock_at: clickHouseTime(clockNow) }],
      format: 'JSONEachRow',
    });
    return { outcomes: outcomeCount, noOutcomeRuns: noOutcomeCount };
  }

  /**
   * Unclaimed runs past the horizon become (or stay, with updated totals) spend with no
   * outcome; a run an outcome now claims leaves that list.
   */
  private async settleNoOutcome(
    store: JoinStore, projection: number, tenantId: string, claimed: Set<string>, unclaimed: string[], clockNow: number,
  ): Promise<number> {
    const { o } = this;
    const cutoff = clockNow - o.horizonMs;
    const usage = await store.usageOfRuns(tenantId, unclaimed);
    const declared = [...usage]
      .map(([runId, calls]) => runFact(tenantId, runId, calls))
      .filter((fact) => fact.last_at <= cutoff)
      .map((fact) => noOutcomeRunRow(fact, clockNow, projection));
    const listed = await queryByIds<{ run_id: string }>(
      o.clickhouse,
      `SELECT run_id FROM no_outcome_runs FINAL
       WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND run_id IN {ids:Array(String)}`,
      { tenant: tenantId, projection }, claimed,
    );
    const withdrawn = listed.map(({ run_id }) => withdrawnRunRow(tenantId, run_id, clockNow, projection));
    const rows = [...declared, ...withdrawn];
    if (rows.length > 0) await o.clickhouse.insert({ table: 'no_outcome_runs', values: rows, format: 'JSONEachRow' });
    return declared.length;
  }
}
