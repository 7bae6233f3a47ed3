/**
 * Token cost as FinOps FOCUS 1.2 rows, CSV (RFC 4180), one row per usage allocation: an LLM call's
 * cost share attributed to one project. Pure: rows in, CSV text out.
 *
 * Mapping decisions:
 * - BilledCost = EffectiveCost = ListCost = ContractedCost = the allocation's cost. tokenledger keeps
 *   one price per call: a tenant's negotiated override where one applies (x_PriceSource `override`),
 *   else the public table price (`genai-prices`); unpriced calls cost 0 (x_PriceStatus `unpriced`).
 * - ChargePeriodStart/End: the UTC hour of the call (the exact time is x_OccurredAt); BillingPeriod:
 *   its UTC calendar month. BillingAccountId: the tenant.
 * - Quantities (ConsumedQuantity = input + output tokens, PricingQuantity in 1M tokens, the
 *   x_…Tokens columns) are on the call's first allocation only, 0 on the others of a split call,
 *   so every column sums right; costs are each allocation's share (they sum to the call's cost).
 * - ProviderName = PublisherName = InvoiceIssuerName = ServiceName = the provider; ResourceId =
 *   ResourceName = the model; SkuId = provider/model; SkuPriceId = what priced the call.
 * - Tags: the call's tags, with its attribution (project, investment, cost_center, team) as the
 *   finalized values; attribution and the run and trace ids also come as x_ columns.
 */
import { unitsToDecimal } from '@tokenledger/schemas';

/** One array-joined usage_facts row (see the export route's SELECT); 64-bit counts as text. */
export interface AllocationRow {
  event_id: string;
  occurred_at: string;
  provider: string;
  model: string;
  operation: string;
  run_id: string;
  trace_id: string;
  span_id: string;
  workflow: string;
  agent: string;
  user_id: string;
  tags: Record<string, string>;
  input_tokens: string;
  output_tokens: string;
  cached_input_tokens: string;
  cache_write_tokens: string;
  reasoning_tokens: string;
  price_status: string;
  price_source: string;
  price_ref: string;
  attribution_tier: string;
  attribution_rule: string;
  project: string;
  investment: string;
  cost_center: string;
  team: string;
  capex_class: string;
  capex_reason: string;
  alloc_cost: string;
  alloc_index: number | string;
  tenant_id: string;
}

/** The SELECT list that yields an AllocationRow from `usageFrom`. */
export const allocationColumnsSql = `tenant_id, event_id, occurred_at, provider, model, operation, run_id, trace_id, span_id, workflow, agent, user_id, tags,
  input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
  price_status, price_source, price_ref, attribution_tier, attribution_rule,
  project, investment, cost_center, team, capex_class, capex_reason, toString(alloc_cost_usd) AS alloc_cost, alloc_index`;

const HOUR_MS = 3_600_000;

/** `2026-10-01 10:00:00.000` (ClickHouse, UTC) → epoch ms. */
const epochOf = (clickHouseTime: string): number => Date.parse(`${clickHouseTime.replace(' ', 'T')}Z`);
/** RFC 3339 to the second, UTC. */
const instant = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const monthStart = (ms: number, add = 0): number => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1);
};

type Column = readonly [name: string, value: (r: AllocationRow, first: boolean, at: number) => string];

const quantity = (r: AllocationRow, first: boolean, field: 'input_tokens' | 'output_tokens' | 'cached_input_tokens' | 'cache_write_tokens' | 'reasoning_tokens') =>
  first ? r[field] : '0';
const consumed = (r: AllocationRow, first: boolean): bigint => (first ? BigInt(r.input_tokens) + BigInt(r.output_tokens) : 0n);

function tagsOf(r: AllocationRow): string {
  const attribution = { project: r.project, investment: r.investment, cost_center: r.cost_center, team: r.team };
  return JSON.stringify({ ...r.tags, ...Object.fromEntries(Object.entries(attribution).filter(([, v]) => v !== '')) });
}

/** The columns, in order: FOCUS 1.2 columns that apply, then tokenledger's x_ columns. */
export const focusColumns: readonly Column[] = [
  ['BillingAccountId', (r) => r.tenant_id],
  ['BillingAccountName', (r) => r.tenant_id],
  ['BillingCurrency', () => 'USD'],
  ['BillingPeriodStart', (_r, _f, at) => instant(monthStart(at))],
  ['BillingPeriodEnd', (_r, _f, at) => instant(monthStart(at, 1))],
  ['ChargePeriodStart', (_r, _f, at) => instant(Math.floor(at / HOUR_MS) * HOUR_MS)],
  ['ChargePeriodEnd', (_r, _f, at) => instant(Math.floor(at / HOUR_MS) * HOUR_MS + HOUR_MS)],
  ['ChargeCategory', () => 'Usage'],
  ['ChargeClass', () => ''],
  ['ChargeFrequency', () => 'Usage-Based'],
  ['ChargeDescription', (r) => `${r.operation} call to ${r.provider} ${r.model}: ${r.input_tokens} input and ${r.output_tokens} output tokens`],
  ['BilledCost', (r) => r.alloc_cost],
  ['EffectiveCost', (r) => r.alloc_cost],
  ['ListCost', (r) => r.alloc_cost],
  ['ContractedCost', (r) => r.alloc_cost],
  ['PricingCategory', () => 'Standard'],
  ['PricingQuantity', (r, first) => unitsToDecimal(consumed(r, first), 6)],
  ['PricingUnit', () => '1M Tokens'],
  ['ConsumedQuantity', (r, first) => String(consumed(r, first))],
  ['ConsumedUnit', () => 'Tokens'],
  ['ProviderName', (r) => r.provider],
  ['PublisherName', (r) => r.provider],
  ['InvoiceIssuerName', (r) => r.provider],
  ['ServiceName', (r) => r.provider],
  ['ServiceCategory', () => 'AI and Machine Learning'],
  ['ServiceSubcategory', () => 'Generative AI'],
  ['ResourceId', (r) => r.model],
  ['ResourceName', (r) => r.model],
  ['ResourceType', () => 'Model'],
  ['SkuId', (r) => `${r.provider}/${r.model}`],
  ['SkuMeter', () => 'Tokens'],
  ['SkuPriceId', (r) => r.price_ref],
  ['Tags', (r) => tagsOf(r)],
  ['x_EventId', (r) => r.event_id],
  ['x_RunId', (r) => r.run_id],
  ['x_TraceId', (r) => r.trace_id],
  ['x_SpanId', (r) => r.span_id],
  ['x_OccurredAt', (_r, _f, at) => new Date(at).toISOString()],
  ['x_Operation', (r) => r.operation],
  ['x_Workflow', (r) => r.workflow],
  ['x_Agent', (r) => r.agent],
  ['x_UserId', (r) => r.user_id],
  ['x_Project', (r) => r.project],
  ['x_Investment', (r) => r.investment],
  ['x_CostCenter', (r) => r.cost_center],
  ['x_Team', (r) => r.team],
  ['x_CapexClass', (r) => r.capex_class],
  ['x_CapexReason', (r) => r.capex_reason],
  ['x_AttributionTier', (r) => r.attribution_tier],
  ['x_AttributionRule', (r) => r.attribution_rule],
  ['x_AllocationIndex', (r) => String(r.alloc_index)],
  ['x_PriceStatus', (r) => r.price_status],
  ['x_PriceSource', (r) => r.price_source],
  ['x_InputTokens', (r, first) => quantity(r, first, 'input_tokens')],
  ['x_CachedInputTokens', (r, first) => quantity(r, first, 'cached_input_tokens')],
  ['x_CacheWriteTokens', (r, first) => quantity(r, first, 'cache_write_tokens')],
  ['x_OutputTokens', (r, first) => quantity(r, first, 'output_tokens')],
  ['x_ReasoningTokens', (r, first) => quantity(r, first, 'reasoning_tokens')],
];

/** One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF; quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV record, CRLF-terminated. */
export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export const focusHeader = (): string => csvRecord(focusColumns.map(([name]) => name));

export function focusRecord(r: AllocationRow): string {
  const at = epochOf(r.occurred_at);
  const first = Number(r.alloc_index) === 1;
  return csvRecord(focusColumns.map(([, value]) => value(r, first, at)));
}
