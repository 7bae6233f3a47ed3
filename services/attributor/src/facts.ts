import { clickHouseTime } from '@tokenledger/infra';
import { nanosToDecimal, type UsageEvent } from '@tokenledger/schemas';
import type { UsageFact } from './attribute.js';

const usd = (nano: bigint): string => nanosToDecimal(nano);

/** Where a fact's event sits in Kafka. */
export interface SourcePosition {
  partition: number;
  offset: string;
}

/** A usage fact as a `usage_facts` row (infra/migrations/0001_usage_facts.sql). Money as exact decimal text. */
export function usageFactRow(fact: UsageFact, event: UsageEvent, source: SourcePosition) {
  return {
    tenant_id: fact.tenant_id,
    event_id: fact.event_id,
    occurred_at: clickHouseTime(fact.occurred_at),
    received_at: clickHouseTime(event.received_at),
    provider: fact.provider,
    model: fact.model,
    operation: fact.operation,
    run_id: fact.run_id,
    trace_id: event.trace_id ?? '',
    span_id: event.span_id ?? '',
    parent_span_id: event.parent_span_id ?? '',
    attempt: event.attempt,
    status: event.status,
    workflow: fact.workflow ?? '',
    agent: fact.agent ?? '',
    step: fact.step ?? '',
    user_id: fact.user_id ?? '',
    tags: event.tags,
    latency_ms: event.latency_ms ?? 0,
    input_tokens: fact.input_tokens,
    output_tokens: fact.output_tokens,
    cached_input_tokens: fact.cached_input_tokens,
    cache_write_tokens: fact.cache_write_tokens,
    reasoning_tokens: fact.reasoning_tokens,
    cost_usd: usd(fact.cost_nano),
    input_cost_usd: usd(fact.input_cost_nano),
    cached_input_cost_usd: usd(fact.cached_input_cost_nano),
    cache_write_cost_usd: usd(fact.cache_write_cost_nano),
    output_cost_usd: usd(fact.output_cost_nano),
    request_cost_usd: usd(fact.request_cost_nano),
    reported_cost_usd: fact.reported_cost_nano === null ? null : usd(fact.reported_cost_nano),
    price_status: fact.price_status,
    price_source: fact.price_source,
    price_ref: fact.price_ref,
    attribution_tier: fact.tier,
    attribution_rule: fact.rule_id,
    system_prompt_id: fact.system_prompt_id ?? '',
    prompt_fingerprint: fact.prompt_fingerprint ?? '',
    'alloc.project': fact.allocations.map((a) => a.project),
    'alloc.investment': fact.allocations.map((a) => a.investment ?? ''),
    'alloc.cost_center': fact.allocations.map((a) => a.cost_center ?? ''),
    'alloc.team': fact.allocations.map((a) => a.team ?? ''),
    'alloc.capex_class': fact.allocations.map((a) => a.capex_class),
    'alloc.capex_reason': fact.allocations.map((a) => a.capex_reason),
    'alloc.cost_usd': fact.allocations.map((a) => usd(a.cost_nano)),
    rules_version: fact.rules_version,
    prices_version: fact.prices_version,
    source_partition: source.partition,
    source_offset: source.offset,
  };
}

export type UsageFactRow = ReturnType<typeof usageFactRow>;
