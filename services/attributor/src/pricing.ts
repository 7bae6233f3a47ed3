/**
 * Prices one usage event in exact integer nano-USD (1 USD = 1_000_000_000n).
 *
 * Arithmetic: every rate is a fixed-point bigint of USD per million tokens with 18 fractional
 * digits (every rate in the genai-prices table, printed as its shortest decimal text, fits).
 * The event's exact cost is Σ tokens_kind × rate_kind; it is divided down to nano-USD ONCE, rounding
 * half-even, and the rounded total is split back over the kinds with the largest remainder method so
 * the per-kind costs always sum exactly to `cost_nano`.
 *
 * Default prices come from the bundled `@pydantic/genai-prices` table. Its auto-update is never
 * enabled, so pricing is offline and reproducible for a given package version.
 */
import { calcPrice, type ModelInfo, type ModelPrice } from '@pydantic/genai-prices';
import { z } from 'zod';
import { divideRoundHalfEven, parseScaledDecimal, splitExactly, toScaledInteger, priceOverrideSchema, type PriceOverride } from '@tokenledger/schemas';
import type { UsageInput } from './usage-input.js';

export { priceOverrideSchema, type PriceOverride };

const RATE_DECIMALS = 18;
/** tokens × rate ÷ 10^15 = nano-USD (÷10^18 rate scale, ÷10^6 tokens per MTok, ×10^9 nano per USD). */
const EXACT_UNITS_PER_NANO = 10n ** 15n;
/** A per-1,000-requests rate charged once costs what a per-million-tokens rate costs for 1,000 tokens. */
const ONE_REQUEST_AS_TOKENS = 1_000n;
const MAX_CACHED_TABLE_LOOKUPS = 10_000;
const GLOB_SPECIAL_CHARS = /[.+?^${}()|[\]\\]/g;



export type PriceStatus = 'priced' | 'unpriced';
export type PriceSource = 'override' | 'genai-prices' | 'none';

export interface PricedUsage {
  cost_nano: bigint;
  /** Uncached input: input_tokens − cached_input_tokens − cache_write_tokens. */
  input_cost_nano: bigint;
  cached_input_cost_nano: bigint;
  cache_write_cost_nano: bigint;
  /** All output, reasoning included. */
  output_cost_nano: bigint;
  /** Flat per-request fee, for the few models the table prices per request. */
  request_cost_nano: bigint;
  price_status: PriceStatus;
  price_source: PriceSource;
  /** What priced the event: `override:<id>@<version>`, `genai-prices:<provider>/<model>`, both for a discount, or ''. */
  price_ref: string;
}

export interface PriceBook {
  price(usage: UsageInput): PricedUsage;
}

/** Rates in force for one event, after choosing the conditional price and the long-context tier. */
interface FlatRates {
  input: bigint | undefined;
  cache_read: bigint | undefined;
  cache_write: bigint | undefined;
  output: bigint | undefined;
  output_reasoning: bigint | undefined;
  requests_kcount: bigint | undefined;
}

type RateKey = keyof FlatRates;

/** A table rate: `base`, replaced by the highest tier whose `start` the event's total input tokens exceed. */
interface TieredRate {
  base: bigint;
  tiers: { start: bigint; rate: bigint }[];
}

type TableRates = Partial<Record<RateKey, TieredRate>>;

/** When a conditional table price applies, as genai-prices defines it. */
type PriceConstraint =
  | { kind: 'always' }
  | { kind: 'from_date'; from: number }
  /** Daily UTC window in milliseconds since midnight; wraps past midnight when end < start. */
  | { kind: 'time_of_day'; start: number; end: number };

interface TableEntry {
  ref: string;
  /** In table order; the last one whose constraint holds applies, else the first. */
  variants: { constraint: PriceConstraint; rates: TableRates }[];
}

interface Multiplier {
  numerator: bigint;
  denominator: bigint;
}

interface CompiledOverride {
  source: PriceOverride;
  provider: string;
  model: RegExp;
  effectiveTo: number;
  ref: string;
  rates: FlatRates | undefined;
  discount: Multiplier | undefined;
}

/** genai-prices price keys for the token kinds we price; other units (audio, images, searches) are not in our usage. */
const TABLE_PRICE_KEYS: Record<RateKey, string> = {
  input: 'input_mtok',
  cache_read: 'cache_read_mtok',
  cache_write: 'cache_write_mtok',
  output: 'output_mtok',
  output_reasoning: 'output_reasoning_mtok',
  requests_kcount: 'requests_kcount',
};

const NO_DISCOUNT: Multiplier = { numerator: 1n, denominator: 1n };
const FREE: TableRates = { input: { base: 0n, tiers: [] }, output: { base: 0n, tiers: [] } };

/**
 * Builds the price book for a set of tenant overrides. Invalid overrides throw here (configuration
 * time); `price` itself never throws: anything it cannot price comes back 'unpriced' at 0n.
 */
export function createPriceBook(overrides: readonly PriceOverride[]): PriceBook {
  const overridesByTenant = indexOverrides(overrides.map(compileOverride));
  const tableLookups = new Map<string, TableEntry | null>();

  function tableEntry(provider: string, model: string): TableEntry | null {
    const key = `${provider.trim().toLowerCase()}\n${model.trim().toLowerCase()}`;
    const cached = tableLookups.get(key);
    if (cached !== undefined) return cached;
    const entry = lookUpTable(provider, model);
    if (tableLookups.size >= MAX_CACHED_TABLE_LOOKUPS) tableLookups.clear(); // bounds memory under junk model names
    tableLookups.set(key, entry);
    return entry;
  }

  return {
    price(usage) {
      const tokens = tokenKinds(usage);
      const override = findOverride(overridesByTenant.get(usage.tenant_id), usage);
      if (override?.rates) return computeCost(tokens, override.rates, NO_DISCOUNT, 'override', override.ref);

      const entry = tableEntry(usage.provider, usage.model);
      const rates = entry && resolveTableRates(entry, usage.occurred_at, tokens.totalInput);
      if (!entry || !rates) return UNPRICED;
      if (override?.discount) return computeCost(tokens, rates, override.discount, 'override', `${override.ref}+${entry.ref}`);
      return computeCost(tokens, rates, NO_DISCOUNT, 'genai-prices', entry.ref);
    },
  };
}

const UNPRICED: PricedUsage = Object.freeze({
  cost_nano: 0n,
  input_cost_nano: 0n,
  cached_input_cost_nano: 0n,
  cache_write_cost_nano: 0n,
  output_cost_nano: 0n,
  request_cost_nano: 0n,
  price_status: 'unpriced',
  price_source: 'none',
  price_ref: '',
});

function computeCost(tokens: TokenKinds, rates: FlatRates, discount: Multiplier, source: PriceSource, ref: string): PricedUsage {
  const outputRate = rates.output ?? 0n;
  // Kinds a table lacks fall back to the rate they are a part of, as genai-prices does.
  const exactCosts = [
    tokens.uncachedInput * (rates.input ?? 0n),
    tokens.cachedInput * (rates.cache_read ?? rates.input ?? 0n),
    tokens.cacheWrite * (rates.cache_write ?? rates.input ?? 0n),
    (tokens.output - tokens.reasoning) * outputRate + tokens.reasoning * (rates.output_reasoning ?? outputRate),
    (rates.requests_kcount ?? 0n) * ONE_REQUEST_AS_TOKENS,
  ];
  const exactTotal = exactCosts.reduce((sum, cost) => sum + cost, 0n);
  const costNano = divideRoundHalfEven(exactTotal * discount.numerator, EXACT_UNITS_PER_NANO * discount.denominator);
  const [input = 0n, cachedInput = 0n, cacheWrite = 0n, output = 0n, request = 0n] = splitExactly(costNano, exactCosts);
  return {
    cost_nano: costNano,
    input_cost_nano: input,
    cached_input_cost_nano: cachedInput,
    cache_write_cost_nano: cacheWrite,
    output_cost_nano: output,
    request_cost_nano: request,
    price_status: 'priced',
    price_source: source,
    price_ref: ref,
  };
}

interface TokenKinds {
  totalInput: bigint;
  uncachedInput: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
  output: bigint;
  reasoning: bigint;
}

/** Splits the event's counts into disjoint kinds, tolerating inconsistent counts instead of throwing. */
function tokenKinds(usage: UsageInput): TokenKinds {
  const cachedInput = tokenCount(usage.cached_input_tokens);
  const cacheWrite = tokenCount(usage.cache_write_tokens);
  const reportedInput = tokenCount(usage.input_tokens);
  const totalInput = reportedInput > cachedInput + cacheWrite ? reportedInput : cachedInput + cacheWrite;
  const output = tokenCount(usage.output_tokens);
  const reasoning = tokenCount(usage.reasoning_tokens);
  return {
    totalInput,
    uncachedInput: totalInput - cachedInput - cacheWrite,
    cachedInput,
    cacheWrite,
    output,
    reasoning: reasoning < output ? reasoning : output,
  };
}

function tokenCount(value: number): bigint {
  return Number.isFinite(value) && value > 0 ? BigInt(Math.floor(value)) : 0n;
}

// ---------------------------------------------------------------------------------------------
// genai-prices table

/**
 * Finds the model with the library's own matching (provider by id, model by its match rules,
 * fallback providers, dated model ids) by asking `calcPrice` to price empty usage; we only keep the
 * matched provider and model. An unknown provider id is not guessed from the model name: a
 * self-hosted "llama" must not inherit a cloud price.
 */
function lookUpTable(provider: string, model: string): TableEntry | null {
  try {
    const match = calcPrice({}, model, { providerId: provider });
    return match ? toTableEntry(`genai-prices:${match.provider.id}/${match.model.id}`, match.model) : null;
  } catch {
    return null; // malformed table data for this model: leave it unpriced
  }
}

function toTableEntry(ref: string, model: ModelInfo): TableEntry | null {
  const conditionalPrices = Array.isArray(model.prices) ? model.prices : [{ prices: model.prices }];
  const variants: TableEntry['variants'] = [];
  for (const { constraint, prices } of conditionalPrices) {
    const compiledConstraint = toConstraint(constraint);
    const rates = toTableRates(prices);
    if (!compiledConstraint || !rates) return null;
    variants.push({ constraint: compiledConstraint, rates });
  }
  return variants.length > 0 ? { ref, variants } : null;
}

function toConstraint(constraint: unknown): PriceConstraint | null {
  if (constraint === undefined || constraint === null) return { kind: 'always' };
  if (typeof constraint !== 'object') return null;
  if ('start_date' in constraint && typeof constraint.start_date === 'string') {
    const from = Date.parse(constraint.start_date); // date-only ISO text parses as UTC midnight, like the library
    return Number.isNaN(from) ? null : { kind: 'from_date', from };
  }
  if ('start_time' in constraint && 'end_time' in constraint && typeof constraint.start_time === 'string' && typeof constraint.end_time === 'string') {
    const start = utcMillisOfDay(constraint.start_time);
    const end = utcMillisOfDay(constraint.end_time);
    return start === null || end === null ? null : { kind: 'time_of_day', start, end };
  }
  return null;
}

const MILLIS_PER_DAY = 86_400_000;

/** "HH:MM:SS[.fff](Z|±HH:MM)" → milliseconds after UTC midnight. */
function utcMillisOfDay(time: string): number | null {
  const match = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(time);
  if (!match) return null;
  const [, hours, minutes, seconds, fraction = '', , offsetSign, offsetHours = '0', offsetMinutes = '0'] = match;
  const local = ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds) + Number(`0${fraction}`)) * 1000;
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 * (offsetSign === '-' ? -1 : 1);
  return (((local - offset) % MILLIS_PER_DAY) + MILLIS_PER_DAY) % MILLIS_PER_DAY;
}

function toTableRates(prices: ModelPrice): TableRates | null {
  // The table lists free models (":free" variants, moderation, open-weights previews) with no prices at all.
  if (Object.values(prices).every((price) => price === undefined)) return FREE;
  const rates: TableRates = {};
  for (const [rateKey, priceKey] of Object.entries(TABLE_PRICE_KEYS) as [RateKey, string][]) {
    const price = prices[priceKey];
    if (price === undefined) continue;
    const rate = toTieredRate(price);
    if (!rate) return null;
    rates[rateKey] = rate;
  }
  // A table without text token rates (audio-only, images, pages) cannot price tokens.
  return rates.input || rates.output ? rates : null;
}

function toTieredRate(price: unknown): TieredRate | null {
  if (typeof price === 'number') {
    const base = numberToRate(price);
    return base === null ? null : { base, tiers: [] };
  }
  if (typeof price !== 'object' || price === null || !('base' in price) || !('tiers' in price)) return null;
  const base = typeof price.base === 'number' ? numberToRate(price.base) : null;
  if (base === null || !Array.isArray(price.tiers)) return null;
  const tiers: TieredRate['tiers'] = [];
  for (const tier of price.tiers as unknown[]) {
    if (typeof tier !== 'object' || tier === null || !('start' in tier) || !('price' in tier)) return null;
    const rate = typeof tier.price === 'number' ? numberToRate(tier.price) : null;
    if (rate === null || typeof tier.start !== 'number' || !Number.isSafeInteger(tier.start)) return null;
    tiers.push({ start: BigInt(tier.start), rate });
  }
  tiers.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { base, tiers };
}

/** A table rate, exactly as the decimal text the number prints as (2.5 → "2.5"). */
function numberToRate(usdPerMillion: number): bigint | null {
  const decimal = Number.isFinite(usdPerMillion) && usdPerMillion >= 0 ? parseScaledDecimal(String(usdPerMillion)) : null;
  return decimal && toScaledInteger(decimal, RATE_DECIMALS);
}

/** Mirrors genai-prices: the last conditional price whose constraint holds at the event's time, else the first. */
function resolveTableRates(entry: TableEntry, occurredAt: number, totalInputTokens: bigint): FlatRates | null {
  if (!Number.isFinite(occurredAt)) return null;
  const chosen = entry.variants.findLast(({ constraint }) => constraintHolds(constraint, occurredAt)) ?? entry.variants[0];
  return chosen ? applyTiers(chosen.rates, totalInputTokens) : null;
}

function constraintHolds(constraint: PriceConstraint, occurredAt: number): boolean {
  switch (constraint.kind) {
    case 'always':
      return true;
    case 'from_date':
      return occurredAt >= constraint.from;
    case 'time_of_day': {
      const timeOfDay = ((occurredAt % MILLIS_PER_DAY) + MILLIS_PER_DAY) % MILLIS_PER_DAY;
      return constraint.end < constraint.start
        ? timeOfDay >= constraint.start || timeOfDay < constraint.end
        : timeOfDay >= constraint.start && timeOfDay < constraint.end;
    }
  }
}

/**
 * Mirrors genai-prices long-context pricing: the tier is chosen by the event's TOTAL input tokens
 * (cache reads and writes included) and its rate applies to all tokens of that kind, output too;
 * a tier starts to apply once input tokens are strictly greater than its `start`.
 */
function applyTiers(rates: TableRates, totalInputTokens: bigint): FlatRates {
  const rateAt = (rate: TieredRate | undefined): bigint | undefined =>
    rate && (rate.tiers.findLast((tier) => totalInputTokens > tier.start)?.rate ?? rate.base);
  return {
    input: rateAt(rates.input),
    cache_read: rateAt(rates.cache_read),
    cache_write: rateAt(rates.cache_write),
    output: rateAt(rates.output),
    output_reasoning: rateAt(rates.output_reasoning),
    requests_kcount: rateAt(rates.requests_kcount),
  };
}

// ---------------------------------------------------------------------------------------------
// Tenant overrides

function compileOverride(input: PriceOverride): CompiledOverride {
  const parsed = priceOverrideSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid price override ${input.id}@${input.version}: ${z.prettifyError(parsed.error)}`);
  const override = parsed.data;
  const rate = (text: string | undefined) => (text === undefined ? undefined : decimalToRate(text));
  const inputRate = rate(override.input);
  const outputRate = rate(override.output);
  return {
    source: override,
    provider: override.provider.trim().toLowerCase(),
    model: globToRegExp(override.model.trim()),
    effectiveTo: override.effective_to ?? Number.POSITIVE_INFINITY,
    ref: `override:${override.id}@${override.version}`,
    rates:
      override.discount_pct === undefined
        ? {
            input: inputRate,
            cache_read: rate(override.cached_input) ?? inputRate,
            cache_write: rate(override.cache_write) ?? inputRate,
            output: outputRate,
            output_reasoning: rate(override.reasoning) ?? outputRate,
            requests_kcount: undefined,
          }
        : undefined,
    discount: override.discount_pct === undefined ? undefined : discountMultiplier(override.discount_pct),
  };
}

function decimalToRate(text: string): bigint {
  const decimal = parseScaledDecimal(text);
  if (!decimal || decimal.scale > RATE_DECIMALS) throw new Error(`rate ${text} needs at most ${RATE_DECIMALS} decimals`);
  return toScaledInteger(decimal, RATE_DECIMALS);
}

/** (100 − pct) / 100, kept as an exact fraction so the discount is applied before the single rounding. */
function discountMultiplier(pctText: string): Multiplier {
  const pct = parseScaledDecimal(pctText);
  if (!pct) throw new Error(`invalid discount_pct ${pctText}`);
  const hundred = 100n * 10n ** BigInt(pct.scale);
  return { numerator: hundred - pct.mantissa, denominator: hundred };
}

function globToRegExp(glob: string): RegExp {
  const pattern = glob.replace(GLOB_SPECIAL_CHARS, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${pattern}$`, 'i');
}

/** Per tenant, latest effective_from first, then highest version (then id, for determinism). */
function indexOverrides(overrides: CompiledOverride[]): Map<string, CompiledOverride[]> {
  const byTenant = new Map<string, CompiledOverride[]>();
  for (const override of overrides) {
    const list = byTenant.get(override.source.tenant_id) ?? [];
    list.push(override);
    byTenant.set(override.source.tenant_id, list);
  }
  for (const list of byTenant.values()) {
    list.sort(
      (a, b) =>
        b.source.effective_from - a.source.effective_from ||
        b.source.version - a.source.version ||
        a.source.id.localeCompare(b.source.id),
    );
  }
  return byTenant;
}

function findOverride(candidates: CompiledOverride[] | undefined, usage: UsageInput): CompiledOverride | undefined {
  if (!candidates) return undefined;
  const provider = usage.provider.trim().toLowerCase();
  const model = usage.model.trim();
  return candidates.find(
    (override) =>
      override.source.effective_from <= usage.occurred_at &&
      usage.occurred_at < override.effectiveTo &&
      override.provider === provider &&
      override.model.test(model),
  );
}
