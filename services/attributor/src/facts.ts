import { clickHouseTime } from '@tokenledger/infra';
import type { UsageEvent } from '@tokenledger/schemas';
import type { UsageFact } from './attribute.js';

/** Where a fact's event sits in Kafka. */
export interface SourcePosition {
  partition: number;
  offset: string;
}

/**
 * The `usage_facts` columns (infra/migrations/0001_usage_facts.sql) in the order
 * `usageFactValues` fills them: inserted as JSONCompactEachRow, one array per row, which both
 * encodes and parses cheaper than an object per row with every column's name.
 */
export const USAGE_FACT_COLUMNS = [
  'tenant_id', 'projection', 'event_id', 'occurred_at', 'received_at', 'provider', 'model', 'operation', 'run_id',
  'trace_id', 'span_id', 'parent_span_id', 'attempt', 'status', 'workflow', 'agent', 'step', 'user_id', 'tags',
  'latency_ms', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens',
  'cost_usd', 'input_cost_usd', 'cached_input_cost_usd', 'cache_write_cost_usd', 'output_cost_usd', 'request_cost_usd',
  'reported_cost_usd', 'price_status', 'price_source', 'price_ref', 'attribution_tier', 'attribution_rule',
  'system_prompt_id', 'prompt_fingerprint', 'alloc.project', 'alloc.investment', 'alloc.cost_center', 'alloc.team',
  'alloc.capex_class', 'alloc.capex_reason', 'alloc.cost_usd', 'rules_version', 'prices_version',
  'source_partition', 'source_offset',
] as const;

export type UsageFactColumn = (typeof USAGE_FACT_COLUMNS)[number];
export type UsageFactValues = unknown[];

/** A usage fact as a `usage_facts` row, column for column in USAGE_FACT_COLUMNS order. Money as exact decimal text. */
export function usageFactValues(fact: UsageFact, event: UsageEvent, source: SourcePosition, projection: number): UsageFactValues {
  const allocations = fact.allocations;
  const n = allocations.length;
  const project = new Array<string>(n);
  const investment = new Array<string>(n);
  const costCenter = new Array<string>(n);
  const team = new Array<string>(n);
  const capexClass = new Array<string>(n);
  const capexReason = new Array<string>(n);
  const cost = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const a = allocations[i]!;
    project[i] = a.project;
    investment[i] = a.investment ?? '';
    costCenter[i] = a.cost_center ?? '';
    team[i] = a.team ?? '';
    capexClass[i] = a.capex_class;
    capexReason[i] = a.capex_reason;
    cost[i] = nanoUsd(a.cost_nano);
  }
  return [
    fact.tenant_id, projection, fact.event_id, clickHouseTime(fact.occurred_at), clickHouseTime(event.received_at),
    fact.provider, fact.model, fact.operation, fact.run_id,
    event.trace_id ?? '', event.span_id ?? '', event.parent_span_id ?? '', event.attempt, event.status,
    fact.workflow ?? '', fact.agent ?? '', fact.step ?? '', fact.user_id ?? '', event.tags,
    event.latency_ms ?? 0, fact.input_tokens, fact.output_tokens, fact.cached_input_tokens, fact.cache_write_tokens, fact.reasoning_tokens,
    nanoUsd(fact.cost_nano), nanoUsd(fact.input_cost_nano), nanoUsd(fact.cached_input_cost_nano), nanoUsd(fact.cache_write_cost_nano),
    nanoUsd(fact.output_cost_nano), nanoUsd(fact.request_cost_nano),
    fact.reported_cost_nano === null ? null : nanoUsd(fact.reported_cost_nano),
    fact.price_status, fact.price_source, fact.price_ref, fact.tier, fact.rule_id,
    fact.system_prompt_id ?? '', fact.prompt_fingerprint ?? '',
    project, investment, costCenter, team, capexClass, capexReason, cost,
    fact.rules_version, fact.prices_version, source.partition, source.offset,
  ];
}


const NANOS_PER_USD = 1_000_000_000;
const NANOS_PER_USD_BIG = 1_000_000_000n;

/**
 * Nano-USD as exact decimal USD text for a Decimal(38, 9) column, e.g. 1_802_500n → "0.001802500".
 * Below 2^53 the digits are computed in Number arithmetic, where `%` and the division of an
 * exact multiple are exact; larger amounts take bigint.
 */
export function nanoUsd(nanos: bigint): string {
  const negative = nanos < 0n;
  const magnitude = negative ? -nanos : nanos;
  let whole: string;
  let fraction: string;
  if (magnitude <= BigInt(Number.MAX_SAFE_INTEGER)) {
    const n = Number(magnitude);
    const rest = n % NANOS_PER_USD;
    whole = String((n - rest) / NANOS_PER_USD);
    fraction = String(rest);
  } else {
    whole = String(magnitude / NANOS_PER_USD_BIG);
    fraction = String(magnitude % NANOS_PER_USD_BIG);
  }
  return `${negative ? '-' : ''}${whole}.${'000000000'.slice(fraction.length)}${fraction}`;
}
