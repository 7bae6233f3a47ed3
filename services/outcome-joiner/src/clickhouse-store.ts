import { queryByIds, type ClickHouseClient } from '@tokenledger/infra';
import { decimalToNanos } from '@tokenledger/schemas';
import { claimsFromEvents, type JoinStore } from './engine.js';
import type { OutcomeRecord, RunClaim, UsageCall } from './model.js';

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

const nanosOrNull = (usd: string | null): bigint | null => (usd === null ? null : decimalToNanos(usd));

/** The joiner's state read from ClickHouse: usage facts (written by the attributor), outcome events and claims. */
export class ClickHouseJoinStore implements JoinStore {
  /** Reads the usage facts of one projection; outcome events and claims are the same in all. */
  constructor(private readonly clickhouse: ClickHouseClient, private readonly projection: number) {}

  private select<T>(query: string, tenantId: string, ids: string[]): Promise<T[]> {
    return queryByIds<T>(this.clickhouse, query, { tenant: tenantId, projection: this.projection }, ids);
  }

  /**
   * Which outcomes claim the runs comes from `outcome_claims`; the weights are worked out from
   * each outcome's events, exactly as the join does, so an old event arriving late changes nothing.
   */
  async claimsOfRuns(tenantId: string, runIds: string[]): Promise<Map<string, RunClaim[]>> {
    const rows = await this.select<{ run_id: string; outcome_id: string }>(
      `SELECT DISTINCT run_id, outcome_id FROM outcome_claims
       WHERE tenant_id = {tenant:String} AND run_id IN {ids:Array(String)}`,
      tenantId, runIds,
    );
    const events = await this.outcomeEvents(tenantId, rows.map((r) => r.outcome_id));
    const weights = new Map([...events].map(([outcomeId, list]) => [outcomeId, claimsFromEvents(list)]));
    const claims = new Map<string, RunClaim[]>();
    for (const { run_id, outcome_id } of rows) {
      const weight = weights.get(outcome_id)?.get(run_id);
      if (weight === undefined) continue; // claims are written before events: not yet visible
      claims.set(run_id, [...(claims.get(run_id) ?? []), { outcome_id, weight }]);
    }
    return claims;
  }

  async outcomeEvents(tenantId: string, outcomeIds: string[]): Promise<Map<string, OutcomeRecord[]>> {
    const rows = await this.select<{
      event_id: string; outcome_id: string; outcome_type: string; occurred_ms: string; status: string; run_ids: string[];
      run_weights: Record<string, number>; has_weights: number; value_usd: string | null; baseline_cost_usd: string | null;
      human_milliminutes: string | null; quality: number | null; tags: Record<string, string>;
    }>(
      `SELECT event_id, outcome_id, outcome_type, toUnixTimestamp64Milli(occurred_at) AS occurred_ms, status, run_ids,
              run_weights, length(mapKeys(run_weights)) > 0 AS has_weights, value_usd, baseline_cost_usd,
              human_milliminutes, quality, tags
       FROM outcome_events FINAL WHERE tenant_id = {tenant:String} AND outcome_id IN {ids:Array(String)}`,
      tenantId, outcomeIds,
    );
    const records = rows.map((r): OutcomeRecord => ({
      event_id: r.event_id,
      outcome_id: r.outcome_id,
      outcome_type: r.outcome_type,
      occurred_at: Number(r.occurred_ms),
      status: r.status,
      run_ids: r.run_ids,
      run_weights: r.has_weights ? Object.fromEntries(Object.entries(r.run_weights).map(([k, v]) => [k, Number(v)])) : null,
      value_nano: nanosOrNull(r.value_usd),
      baseline_cost_nano: nanosOrNull(r.baseline_cost_usd),
      human_milliminutes: r.human_milliminutes === null ? null : Number(r.human_milliminutes),
      quality: r.quality === null ? null : Number(r.quality),
      tags: r.tags,
    }));
    return groupBy(records, (r) => r.outcome_id);
  }

  async usageOfRuns(tenantId: string, runIds: string[]): Promise<Map<string, UsageCall[]>> {
    const rows = await this.select<{
      event_id: string; run_id: string; occurred_ms: string; provider: string; model: string; workflow: string; step: string; attempt: number;
      status: string; cost_usd: string; input_tokens: string; output_tokens: string; cached_input_tokens: string;
      cache_write_tokens: string; reasoning_tokens: string;
    }>(
      `SELECT event_id, run_id, toUnixTimestamp64Milli(occurred_at) AS occurred_ms, provider, model, workflow, step, attempt, status,
              cost_usd, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens
       FROM usage_facts FINAL
       WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND run_id IN {ids:Array(String)}`,
      tenantId, runIds,
    );
    const calls = rows.map((r): UsageCall => ({
      event_id: r.event_id,
      run_id: r.run_id,
      occurred_at: Number(r.occurred_ms),
      provider: r.provider,
      model: r.model,
      workflow: r.workflow,
      step: r.step,
      attempt: Number(r.attempt),
      status: r.status,
      cost_nano: decimalToNanos(r.cost_usd),
      input_tokens: Number(r.input_tokens),
      output_tokens: Number(r.output_tokens),
      cached_input_tokens: Number(r.cached_input_tokens),
      cache_write_tokens: Number(r.cache_write_tokens),
      reasoning_tokens: Number(r.reasoning_tokens),
    }));
    return groupBy(calls, (c) => c.run_id);
  }
}
