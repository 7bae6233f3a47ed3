/**
 * Composes pricing, attribution, exact splitting and capitalization into ONE fact per usage
 * event (so downstream deduplication is per event_id), with the allocations as an array whose
 * cost_nano values sum exactly to the event's cost_nano.
 */
import { attributionRuleSchema, parseScaledDecimal, splitExactly, toScaledInteger } from '@tokenledger/schemas';
import { z } from 'zod';
import {
  compileAttributor,
  directorySchema,
  ticketPrefixesSchema,
  type Attributor,
  type AttributionTier,
} from './attribution.js';
import {
  classifyCapitalization,
  indexProjectCatalogue,
  projectCatalogueSchema,
  type CapexClass,
  type CapexReason,
  type ProjectEntry,
} from './capitalization.js';
import { createPriceBook, priceOverrideSchema, type PriceBook, type PricedUsage } from './pricing.js';
import type { UsageInput } from './usage-input.js';

const NANO_DECIMALS = 9;

export const attributionConfigSchema = z.object({
  /** Recorded on every fact, so a fact can be traced to the configuration that produced it. */
  rules_version: z.number().int().nonnegative(),
  /** The price overrides' version, recorded beside rules_version. */
  prices_version: z.number().int().nonnegative(),
  rules: z.array(attributionRuleSchema),
  ticketPrefixes: ticketPrefixesSchema,
  directory: directorySchema,
  projects: projectCatalogueSchema,
  priceOverrides: z.array(priceOverrideSchema),
});

export type AttributionConfig = z.infer<typeof attributionConfigSchema>;

export interface CompiledConfig {
  rulesVersion: number;
  pricesVersion: number;
  attributor: Attributor;
  priceBook: PriceBook;
  projects: ReadonlyMap<string, ProjectEntry>;
}

export interface FactAllocation {
  project: string;
  investment: string | null;
  cost_center: string | null;
  team: string | null;
  capex_class: CapexClass;
  capex_reason: CapexReason;
  cost_nano: bigint;
}

/** A priced, attributed usage event: what becomes a usage_facts row. */
export interface UsageFact extends PricedUsage {
  tenant_id: string;
  event_id: string;
  occurred_at: number;
  provider: string;
  model: string;
  operation: string;
  run_id: string;
  workflow: string | null;
  agent: string | null;
  step: string | null;
  user_id: string | null;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  /** The provider's own figure, for reconciliation; null when absent or not a decimal. */
  reported_cost_nano: bigint | null;
  tier: AttributionTier;
  rule_id: string;
  system_prompt_id: string | null;
  prompt_fingerprint: string | null;
  rules_version: number;
  prices_version: number;
  allocations: FactAllocation[];
}

/** Validates configuration from an untrusted source (file, API); throws with a readable message. */
export function parseAttributionConfig(raw: unknown): AttributionConfig {
  const parsed = attributionConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid attribution config: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Compiles rules, regexes and price overrides once per configuration version. */
export function compileConfig(config: AttributionConfig): CompiledConfig {
  return {
    rulesVersion: config.rules_version,
    pricesVersion: config.prices_version,
    attributor: compileAttributor(config),
    priceBook: createPriceBook(config.priceOverrides),
    projects: indexProjectCatalogue(config.projects),
  };
}

export function attributeUsage(usage: UsageInput, config: CompiledConfig): UsageFact {
  const price = config.priceBook.price(usage);
  const attribution = config.attributor.attribute(usage);
  const costs = splitExactly(
    price.cost_nano,
    attribution.allocations.map((allocation) => allocation.weight),
  );
  const allocations = attribution.allocations.map((allocation, index): FactAllocation => {
    // An investment left open by the deciding tier comes from the project's catalogue entry.
    const investment = allocation.investment ?? config.projects.get(allocation.project)?.investment ?? null;
    const capitalization = classifyCapitalization({ project: allocation.project, investment }, usage.occurred_at, config.projects);
    return {
      project: allocation.project,
      investment,
      cost_center: allocation.cost_center,
      team: allocation.team,
      ...capitalization,
      cost_nano: costs[index] ?? 0n,
    };
  });

  return {
    tenant_id: usage.tenant_id,
    event_id: usage.event_id,
    occurred_at: usage.occurred_at,
    provider: usage.provider,
    model: usage.model,
    operation: usage.operation,
    run_id: usage.run_id,
    workflow: usage.workflow,
    agent: usage.agent,
    step: usage.step,
    user_id: usage.user_id,
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cached_input_tokens: usage.cached_input_tokens,
    cache_write_tokens: usage.cache_write_tokens,
    reasoning_tokens: usage.reasoning_tokens,
    ...price,
    reported_cost_nano: usdToNano(usage.reported_cost_usd),
    tier: attribution.tier,
    rule_id: attribution.rule_id,
    system_prompt_id: usage.prompt?.system_prompt_id ?? null,
    prompt_fingerprint: usage.prompt?.fingerprint ?? null,
    rules_version: config.rulesVersion,
    prices_version: config.pricesVersion,
    allocations,
  };
}

/** Exact decimal USD text → nano-USD, rounding half-even below one nano. */
function usdToNano(usd: string | null): bigint | null {
  const decimal = usd === null ? null : parseScaledDecimal(usd);
  return decimal && toScaledInteger(decimal, NANO_DECIMALS);
}
