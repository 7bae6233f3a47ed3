import { clickHouseTime } from '@tokenledger/infra';
import { nanosToDecimal, type OutcomeEvent } from '@tokenledger/schemas';
import { claimsFromEvents } from './engine.js';
import type { OutcomeFact, OutcomeRecord, RunFact } from './model.js';

const usd = (nano: bigint | null): string | null => (nano === null ? null : nanosToDecimal(nano));

/** Where an event sits in Kafka. */
export interface SourcePosition {
  partition: number;
  offset: string;
}

/** An outcome event as an `outcome_events` row (infra/migrations/0003_outcome_events.sql). */
export function outcomeEventRow(e: OutcomeEvent, source: SourcePosition) {
  return {
    tenant_id: e.tenant_id,
    outcome_id: e.outcome_id,
    event_id: e.event_id,
    occurred_at: clickHouseTime(e.occurred_at),
    received_at: clickHouseTime(e.received_at),
    outcome_type: e.outcome_type,
    status: e.status,
    run_ids: e.run_ids,
    run_weights: e.run_weights ?? {},
    value_usd: e.value_usd,
    baseline_cost_usd: e.baseline_cost_usd,
    human_milliminutes: e.human_milliminutes,
    quality: e.quality,
    tags: e.tags,
    source_partition: source.partition,
    source_offset: source.offset,
  };
}

/** The runs one outcome event claims, as `outcome_claims` rows; the latest event's weight wins. */
export function claimRows(e: OutcomeEvent) {
  const record: OutcomeRecord = {
    event_id: e.event_id, outcome_id: e.outcome_id, outcome_type: e.outcome_type, occurred_at: e.occurred_at, status: e.status,
    run_ids: e.run_ids, run_weights: e.run_weights ?? null, value_nano: null, baseline_cost_nano: null,
    human_milliminutes: e.human_milliminutes, quality: e.quality, tags: e.tags,
  };
  return [...claimsFromEvents([record])].map(([run_id, weight]) => ({
    tenant_id: e.tenant_id, run_id, outcome_id: e.outcome_id, weight, claimed_at: clickHouseTime(e.occurred_at),
  }));
}

export function outcomeFactRow(f: OutcomeFact, projection: number) {
  return {
    tenant_id: f.tenant_id,
    projection,
    outcome_id: f.outcome_id,
    outcome_type: f.outcome_type,
    status: f.status,
    occurred_at: clickHouseTime(f.occurred_at),
    first_occurred_at: clickHouseTime(f.first_occurred_at),
    event_count: f.event_count,
    run_ids: f.run_ids,
    calls: f.calls.toString(),
    attempts: f.attempts,
    failed_attempts: f.failed_attempts,
    first_pass: f.first_pass,
    input_tokens: f.input_tokens.toString(),
    output_tokens: f.output_tokens.toString(),
    cached_input_tokens: f.cached_input_tokens.toString(),
    cache_write_tokens: f.cache_write_tokens.toString(),
    reasoning_tokens: f.reasoning_tokens.toString(),
    cost_usd: usd(f.cost_nano),
    retry_tax_usd: usd(f.retry_tax_nano),
    models: f.models,
    primary_workflow: f.primary_workflow,
    primary_model: f.primary_model,
    primary_known: 1,
    human_milliminutes: f.human_milliminutes,
    human_cost_usd: usd(f.human_cost_nano),
    baseline_cost_usd: usd(f.baseline_cost_nano),
    value_usd: usd(f.value_nano),
    net_value_usd: usd(f.net_value_nano),
    quality: f.quality,
    tags: f.tags,
    last_usage_at: f.last_usage_at === null ? null : clickHouseTime(f.last_usage_at),
  };
}

export function noOutcomeRunRow(r: RunFact, declaredAt: number, projection: number) {
  return {
    tenant_id: r.tenant_id,
    projection,
    run_id: r.run_id,
    calls: r.calls.toString(),
    cost_usd: usd(r.cost_nano),
    retry_tax_usd: usd(r.retry_tax_nano),
    input_tokens: r.input_tokens.toString(),
    output_tokens: r.output_tokens.toString(),
    cached_input_tokens: r.cached_input_tokens.toString(),
    cache_write_tokens: r.cache_write_tokens.toString(),
    reasoning_tokens: r.reasoning_tokens.toString(),
    models: r.models,
    first_at: clickHouseTime(r.first_at),
    last_at: clickHouseTime(r.last_at),
    declared_at: clickHouseTime(declaredAt),
    is_deleted: 0,
  };
}

/** Marks a run as no longer spend-with-no-outcome (an outcome claimed it); drops out under FINAL. */
export function withdrawnRunRow(tenantId: string, runId: string, at: number, projection: number) {
  const zero = '0';
  return {
    tenant_id: tenantId, projection, run_id: runId, calls: zero, cost_usd: zero, retry_tax_usd: zero,
    input_tokens: zero, output_tokens: zero, cached_input_tokens: zero, cache_write_tokens: zero, reasoning_tokens: zero,
    models: [], first_at: clickHouseTime(at), last_at: clickHouseTime(at), declared_at: clickHouseTime(at), is_deleted: 1,
  };
}
