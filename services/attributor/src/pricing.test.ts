import { calcPrice, type ModelPrice, type PriceCalculation } from '@pydantic/genai-prices';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { divideRoundHalfEven } from '@tokenledger/schemas';
import { createPriceBook, type PriceOverride, type PricedUsage } from './pricing.js';
import type { UsageInput } from './usage-input.js';

const TABLE = createPriceBook([]);
const JAN_2026 = Date.UTC(2026, 0, 15, 12);

function usageOf(fields: Partial<UsageInput>): UsageInput {
  return {
    tenant_id: 'tenant-a',
    event_id: 'event-1',
    occurred_at: JAN_2026,
    provider: 'openai',
    model: 'gpt-4o',
    operation: 'chat',
    input_tokens: 0,
    output_tokens: 0,
    cached_input_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    run_id: 'run-1',
    workflow: null,
    agent: null,
    step: null,
    user_id: null,
    tags: {},
    prompt: null,
    reported_cost_usd: null,
    ...fields,
  };
}

function tableModel(provider: string, model: string, at = JAN_2026): PriceCalculation {
  const match = calcPrice({}, model, { providerId: provider, timestamp: new Date(at) });
  if (!match) throw new Error(`${provider}/${model} is not in the genai-prices table`);
  return match;
}

function flatRate(prices: ModelPrice, key: string): number {
  const rate = prices[key];
  if (typeof rate !== 'number') throw new Error(`${key} is not a flat rate: ${JSON.stringify(rate)}`);
  return rate;
}

/** USD per MTok → exact nano-USD per token, for table rates with at most 3 decimals (R × 1000). */
function nanoPerToken(usdPerMTok: number): bigint {
  const nano = usdPerMTok * 1000;
  expect(Math.abs(nano - Math.round(nano))).toBeLessThan(1e-6);
  return BigInt(Math.round(nano));
}

/** The library's float total for the same usage and time. */
function libraryTotal(usage: UsageInput): number {
  const result = calcPrice(
    {
      input_tokens: usage.input_tokens,
      cache_read_tokens: usage.cached_input_tokens,
      cache_write_tokens: usage.cache_write_tokens,
      output_tokens: usage.output_tokens,
      output_reasoning_tokens: usage.reasoning_tokens,
    },
    usage.model,
    { providerId: usage.provider, timestamp: new Date(usage.occurred_at) },
  );
  if (!result) throw new Error('library has no price');
  return result.total_price;
}

/** Within 1e-9 relative of the library's float, or half a nano (our one rounding step). */
function expectMatchesLibrary(priced: PricedUsage, usage: UsageInput): void {
  const library = libraryTotal(usage);
  const ours = Number(priced.cost_nano) / 1e9;
  expect(Math.abs(ours - library)).toBeLessThanOrEqual(Math.max(1e-9 * library, 0.5e-9) + 1e-15);
}

function expectKindsSumToTotal(priced: PricedUsage): void {
  const kinds =
    priced.input_cost_nano + priced.cached_input_cost_nano + priced.cache_write_cost_nano + priced.output_cost_nano + priced.request_cost_nano;
  expect(kinds).toBe(priced.cost_nano);
}

describe('default price book (genai-prices)', () => {
  const mixedUsage = {
    input_tokens: 1_234_567,
    cached_input_tokens: 200_000,
    cache_write_tokens: 10_000,
    output_tokens: 45_678,
    reasoning_tokens: 1_000,
  };

  it.each([
    { provider: 'openai', model: 'gpt-4o' },
    { provider: 'anthropic', model: 'claude-sonnet-4-20250514' },
    { provider: 'google', model: 'gemini-2.5-flash' },
  ])('prices every token kind of $provider/$model at the table rates', ({ provider, model }) => {
    const match = tableModel(provider, model);
    const prices = match.model_price;
    const input = nanoPerToken(flatRate(prices, 'input_mtok'));
    const cacheRead = prices.cache_read_mtok === undefined ? input : nanoPerToken(flatRate(prices, 'cache_read_mtok'));
    const cacheWrite = prices.cache_write_mtok === undefined ? input : nanoPerToken(flatRate(prices, 'cache_write_mtok'));
    const output = nanoPerToken(flatRate(prices, 'output_mtok'));
    const usage = usageOf({ provider, model, ...mixedUsage });

    const priced = TABLE.price(usage);

    expect(priced).toMatchObject({
      price_status: 'priced',
      price_source: 'genai-prices',
      price_ref: `genai-prices:${match.provider.id}/${match.model.id}`,
      input_cost_nano: (1_234_567n - 200_000n - 10_000n) * input,
      cached_input_cost_nano: 200_000n * cacheRead,
      cache_write_cost_nano: 10_000n * cacheWrite,
      output_cost_nano: 45_678n * output, // reasoning is part of output at the output rate
      request_cost_nano: 0n,
    });
    expectKindsSumToTotal(priced);
    expectMatchesLibrary(priced, usage);
  });

  it('uses the anthropic cache-write rate, and falls back to the input rate where the table has none', () => {
    const anthropic = tableModel('anthropic', 'claude-sonnet-4-20250514').model_price;
    const openai = tableModel('openai', 'gpt-4o').model_price;
    expect(anthropic.cache_write_mtok).not.toBe(anthropic.input_mtok);
    expect(openai.cache_write_mtok).toBeUndefined();

    const writeOnly = { input_tokens: 1_000, cache_write_tokens: 1_000 };
    expect(TABLE.price(usageOf({ provider: 'anthropic', model: 'claude-sonnet-4-20250514', ...writeOnly })).cost_nano).toBe(
      1_000n * nanoPerToken(flatRate(anthropic, 'cache_write_mtok')),
    );
    expect(TABLE.price(usageOf({ provider: 'openai', model: 'gpt-4o', ...writeOnly })).cost_nano).toBe(
      1_000n * nanoPerToken(flatRate(openai, 'input_mtok')),
    );
  });

  it('prices reasoning tokens at a separate reasoning rate when the table has one', () => {
    const prices = tableModel('perplexity', 'sonar-deep-research').model_price;
    const usage = usageOf({ provider: 'perplexity', model: 'sonar-deep-research', input_tokens: 2_000, output_tokens: 10_000, reasoning_tokens: 4_000 });

    const priced = TABLE.price(usage);

    expect(priced.output_cost_nano).toBe(
      6_000n * nanoPerToken(flatRate(prices, 'output_mtok')) + 4_000n * nanoPerToken(flatRate(prices, 'output_reasoning_mtok')),
    );
    expectMatchesLibrary(priced, usage);
  });

  it('adds the per-request fee of models priced per request', () => {
    const prices = tableModel('perplexity', 'sonar').model_price;
    const usage = usageOf({ provider: 'perplexity', model: 'sonar', input_tokens: 100, output_tokens: 100 });

    const priced = TABLE.price(usage);

    expect(priced.request_cost_nano).toBe(BigInt(Math.round(flatRate(prices, 'requests_kcount') * 1e6))); // per 1,000 requests
    expectKindsSumToTotal(priced);
    expectMatchesLibrary(priced, usage);
  });

  it('applies a long-context tier to every kind once total input exceeds the tier start', () => {
    const prices = tableModel('google', 'gemini-2.5-pro').model_price;
    const inputRate = prices.input_mtok;
    const outputRate = prices.output_mtok;
    if (typeof inputRate !== 'object' || typeof outputRate !== 'object') throw new Error('gemini-2.5-pro is expected to be tiered');
    const [inputTier] = inputRate.tiers;
    const [outputTier] = outputRate.tiers;
    if (!inputTier || !outputTier) throw new Error('no tier');
    const atStart = usageOf({ provider: 'google', model: 'gemini-2.5-pro', input_tokens: inputTier.start, cached_input_tokens: 1_000, output_tokens: 1_000 });
    const aboveStart = { ...atStart, input_tokens: inputTier.start + 1 };

    const base = TABLE.price(atStart);
    const long = TABLE.price(aboveStart);

    expect(base.input_cost_nano).toBe(BigInt(inputTier.start - 1_000) * nanoPerToken(inputRate.base));
    expect(base.output_cost_nano).toBe(1_000n * nanoPerToken(outputRate.base));
    expect(long.input_cost_nano).toBe(BigInt(inputTier.start + 1 - 1_000) * nanoPerToken(inputTier.price));
    expect(long.output_cost_nano).toBe(1_000n * nanoPerToken(outputTier.price));
    expectMatchesLibrary(base, atStart);
    expectMatchesLibrary(long, aboveStart);
  });

  it('picks the conditional price in force at occurred_at (start date)', () => {
    const { model } = tableModel('openai', 'o3');
    if (!Array.isArray(model.prices)) throw new Error('o3 is expected to have dated prices');
    const [before, after] = model.prices;
    const startDate = after?.constraint?.type === 'start_date' ? Date.parse(after.constraint.start_date) : Number.NaN;
    if (!before || !after || Number.isNaN(startDate)) throw new Error('o3 is expected to change price on a start date');
    const usage = (occurred_at: number) => usageOf({ provider: 'openai', model: 'o3', occurred_at, input_tokens: 1_000_000, output_tokens: 1_000_000 });

    for (const [occurredAt, prices] of [
      [startDate - 1, before.prices],
      [startDate, after.prices],
    ] as const) {
      const priced = TABLE.price(usage(occurredAt));
      expect(priced.input_cost_nano).toBe(1_000_000n * nanoPerToken(flatRate(prices, 'input_mtok')));
      expect(priced.output_cost_nano).toBe(1_000_000n * nanoPerToken(flatRate(prices, 'output_mtok')));
      expectMatchesLibrary(priced, usage(occurredAt));
    }
    expect(TABLE.price(usage(startDate - 1)).cost_nano).not.toBe(TABLE.price(usage(startDate)).cost_nano);
  });

  it('picks the conditional price in force at occurred_at (UTC time of day)', () => {
    const { model } = tableModel('deepseek', 'deepseek-chat');
    const window = Array.isArray(model.prices) ? model.prices[1]?.constraint : undefined;
    if (window?.type !== 'time_of_date') throw new Error('deepseek-chat is expected to have an off-peak window');
    expect(window).toMatchObject({ start_time: '00:30:00Z', end_time: '16:30:00Z' });
    const at = (hours: number, minutes: number) =>
      usageOf({ provider: 'deepseek', model: 'deepseek-chat', occurred_at: Date.UTC(2026, 2, 3, hours, minutes), input_tokens: 100_000, output_tokens: 20_000 });

    const inWindow = TABLE.price(at(1, 0));
    const outside = TABLE.price(at(20, 0));

    expect(inWindow.cost_nano).not.toBe(outside.cost_nano);
    expect(TABLE.price(at(0, 30)).cost_nano).toBe(inWindow.cost_nano); // start inclusive
    expect(TABLE.price(at(16, 30)).cost_nano).toBe(outside.cost_nano); // end exclusive
    expectMatchesLibrary(inWindow, at(1, 0));
    expectMatchesLibrary(outside, at(20, 0));
  });

  it('matches the library across providers, kinds and sizes', () => {
    const models = [
      ['openai', 'gpt-4o'],
      ['openai', 'gpt-4o-mini'],
      ['openai', 'gpt-5.4'],
      ['anthropic', 'claude-sonnet-4-5'],
      ['anthropic', 'claude-3-5-haiku-latest'],
      ['google', 'gemini-2.5-pro'],
      ['google', 'gemini-1.5-pro'],
      ['mistral', 'mistral-large-latest'],
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        fc.integer({ min: 0, max: 600_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100 }),
        ([provider, model], input, cachedPct, writePct, output, reasoningPct) => {
          const cached = Math.floor((input * cachedPct) / 200);
          const write = Math.floor((input * writePct) / 200);
          const usage = usageOf({
            provider,
            model,
            input_tokens: input,
            cached_input_tokens: cached,
            cache_write_tokens: write,
            output_tokens: output,
            reasoning_tokens: Math.floor((output * reasoningPct) / 100),
          });
          const priced = TABLE.price(usage);
          expect(priced.price_status).toBe('priced');
          expectKindsSumToTotal(priced);
          expectMatchesLibrary(priced, usage);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('prices free models at zero', () => {
    const priced = TABLE.price(usageOf({ provider: 'openrouter', model: 'qwen3-8b:free', input_tokens: 1_000, output_tokens: 1_000 }));
    expect(priced).toMatchObject({ price_status: 'priced', cost_nano: 0n, price_source: 'genai-prices' });
  });

  it.each([
    { provider: 'openai', model: 'no-such-model-xyz' },
    { provider: 'my-vllm', model: 'gpt-4o' }, // an unknown provider is not guessed from the model name
    { provider: 'openai', model: 'whisper-1' }, // priced per audio hour, not per token
  ])('leaves $provider/$model unpriced at 0n', (fields) => {
    expect(TABLE.price(usageOf({ ...fields, input_tokens: 1_000, output_tokens: 1_000 }))).toEqual({
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
  });

  it('never throws on malformed counts', () => {
    const odd = [
      { input_tokens: Number.NaN, output_tokens: -5 },
      { input_tokens: 10, cached_input_tokens: 50, cache_write_tokens: 50 }, // partitions exceed the whole
      { output_tokens: 10, reasoning_tokens: 99 },
      { input_tokens: 1.7, output_tokens: Number.POSITIVE_INFINITY },
      { occurred_at: Number.NaN, input_tokens: 10 },
    ];
    for (const fields of odd) {
      const priced = TABLE.price(usageOf(fields));
      expect(priced.cost_nano >= 0n).toBe(true);
      expectKindsSumToTotal(priced);
    }
    // Partitions larger than the reported whole are taken at face value, never negative.
    expect(TABLE.price(usageOf({ input_tokens: 10, cached_input_tokens: 50, cache_write_tokens: 50 })).input_cost_nano).toBe(0n);
  });
});

describe('tenant price overrides', () => {
  const T0 = Date.UTC(2026, 1, 1);
  const T1 = Date.UTC(2026, 2, 1);

  function override(fields: Partial<PriceOverride>): PriceOverride {
    return { id: 'ovr', tenant_id: 'tenant-a', provider: 'openai', model: 'gpt-4o', effective_from: T0, version: 1, input: '2', output: '8', ...fields };
  }

  const oneMillionEach = { input_tokens: 1_000_000, output_tokens: 1_000_000 };

  it('applies from effective_from (inclusive) until effective_to (exclusive)', () => {
    const book = createPriceBook([override({ effective_to: T1 })]);
    const at = (occurred_at: number) => book.price(usageOf({ occurred_at, ...oneMillionEach }));

    expect(at(T0 - 1).price_source).toBe('genai-prices');
    expect(at(T0)).toMatchObject({ price_source: 'override', price_ref: 'override:ovr@1', cost_nano: 10_000_000_000n });
    expect(at(T1 - 1).price_source).toBe('override');
    expect(at(T1).price_source).toBe('genai-prices');
  });

  it('takes the latest effective_from in force, then the higher version', () => {
    const book = createPriceBook([
      override({ id: 'old', effective_from: T0, input: '1', output: '1' }),
      override({ id: 'new', effective_from: T1, input: '3', output: '3' }),
      override({ id: 'new', effective_from: T1, input: '4', output: '4', version: 2 }),
    ]);

    expect(book.price(usageOf({ occurred_at: T1 - 1, ...oneMillionEach })).price_ref).toBe('override:old@1');
    expect(book.price(usageOf({ occurred_at: T1, ...oneMillionEach }))).toMatchObject({ price_ref: 'override:new@2', cost_nano: 8_000_000_000n });
  });

  it('matches model globs case-insensitively, only for its tenant and provider', () => {
    const book = createPriceBook([override({ model: 'gpt-4*' })]);
    const source = (fields: Partial<UsageInput>) => book.price(usageOf({ occurred_at: T0, ...oneMillionEach, ...fields })).price_source;

    expect(source({ model: 'gpt-4o-mini' })).toBe('override');
    expect(source({ model: 'GPT-4.1' })).toBe('override');
    expect(source({ model: 'gpt-5' })).toBe('genai-prices');
    expect(source({ model: 'xgpt-4o' })).not.toBe('override');
    expect(source({ provider: 'azure', model: 'gpt-4o' })).not.toBe('override');
    expect(source({ tenant_id: 'tenant-b' })).toBe('genai-prices');
  });

  it('treats glob metacharacters other than * literally', () => {
    const book = createPriceBook([override({ model: 'gpt-4.1*' })]);
    expect(book.price(usageOf({ occurred_at: T0, model: 'gpt-4.1-mini', ...oneMillionEach })).price_source).toBe('override');
    expect(book.price(usageOf({ occurred_at: T0, model: 'gpt-401', ...oneMillionEach })).price_source).not.toBe('override');
  });

  it('falls back cached and cache-write to the input rate and reasoning to the output rate', () => {
    const book = createPriceBook([override({ input: '2', output: '8' })]);
    const priced = book.price(
      usageOf({ occurred_at: T0, input_tokens: 3_000_000, cached_input_tokens: 1_000_000, cache_write_tokens: 1_000_000, output_tokens: 2_000_000, reasoning_tokens: 1_000_000 }),
    );
    expect(priced).toMatchObject({
      input_cost_nano: 2_000_000_000n,
      cached_input_cost_nano: 2_000_000_000n,
      cache_write_cost_nano: 2_000_000_000n,
      output_cost_nano: 16_000_000_000n,
    });
  });

  it('uses its own cached, cache-write and reasoning rates when given', () => {
    const book = createPriceBook([override({ input: '2', output: '8', cached_input: '0.2', cache_write: '2.5', reasoning: '4' })]);
    const priced = book.price(
      usageOf({ occurred_at: T0, input_tokens: 3_000_000, cached_input_tokens: 1_000_000, cache_write_tokens: 1_000_000, output_tokens: 2_000_000, reasoning_tokens: 1_000_000 }),
    );
    expect(priced).toMatchObject({
      input_cost_nano: 2_000_000_000n,
      cached_input_cost_nano: 200_000_000n,
      cache_write_cost_nano: 2_500_000_000n,
      output_cost_nano: 12_000_000_000n,
      cost_nano: 16_700_000_000n,
    });
  });

  it('prices models the table does not know', () => {
    const book = createPriceBook([override({ provider: 'my-vllm', model: 'llama-*', input: '0.1', output: '0.1' })]);
    expect(book.price(usageOf({ occurred_at: T0, provider: 'my-vllm', model: 'llama-3-70b', ...oneMillionEach }))).toMatchObject({
      price_status: 'priced',
      price_source: 'override',
      cost_nano: 200_000_000n,
    });
  });

  it('applies a discount to the table price exactly, before the single rounding', () => {
    const book = createPriceBook([override({ input: undefined, output: undefined, discount_pct: '12.5' })]);
    const usage = usageOf({ occurred_at: T0, input_tokens: 1_234_567, cached_input_tokens: 34_567, output_tokens: 7_654 });
    const table = TABLE.price(usage);

    const discounted = book.price(usage);

    expect(discounted.price_source).toBe('override');
    expect(discounted.price_ref).toBe('override:ovr@1+genai-prices:openai/gpt-4o');
    // The table cost is exact here (rates have ≤ 3 decimals), so the discounted cost is it × 0.875, rounded half-even.
    expect(discounted.cost_nano).toBe(divideRoundHalfEven(table.cost_nano * 875n, 1000n));
    expectKindsSumToTotal(discounted);
  });

  it('leaves a discounted model unpriced when the table has no price for it', () => {
    const book = createPriceBook([override({ model: '*', input: undefined, output: undefined, discount_pct: '10' })]);
    expect(book.price(usageOf({ occurred_at: T0, model: 'no-such-model', ...oneMillionEach })).price_status).toBe('unpriced');
  });

  it('rounds the exact total once, half to even', () => {
    const book = createPriceBook([
      override({ model: 'half-down', input: '0.0025', output: '0' }),
      override({ model: 'half-up', input: '0.0035', output: '0' }),
      override({ model: 'sub-nano', input: '0.0004', output: '0.0004' }),
    ]);
    const price = (model: string, fields: Partial<UsageInput>) => book.price(usageOf({ occurred_at: T0, model, ...fields })).cost_nano;

    expect(price('half-down', { input_tokens: 1 })).toBe(2n); // 2.5 nano
    expect(price('half-up', { input_tokens: 1 })).toBe(4n); // 3.5 nano
    // 0.4 + 0.4 nano: rounding each kind would give 0; one rounding of the exact sum gives 1.
    expect(price('sub-nano', { input_tokens: 1, output_tokens: 1 })).toBe(1n);
  });

  it('property: kinds sum to the total, which is the exact cost rounded half-even', () => {
    const rate = fc.integer({ min: 0, max: 100_000_000 }).map((micros) => ({ micros: BigInt(micros), text: (micros / 1e6).toFixed(6) }));
    fc.assert(
      fc.property(rate, rate, rate, rate, fc.nat(10_000_000), fc.nat(100), fc.nat(100), fc.nat(1_000_000), (input, cached, write, output, tokens, cachedPct, writePct, outputTokens) => {
        const cachedTokens = Math.floor((tokens * cachedPct) / 200);
        const writeTokens = Math.floor((tokens * writePct) / 200);
        const book = createPriceBook([
          override({ input: input.text, cached_input: cached.text, cache_write: write.text, output: output.text }),
        ]);
        const priced = book.price(
          usageOf({ occurred_at: T0, input_tokens: tokens, cached_input_tokens: cachedTokens, cache_write_tokens: writeTokens, output_tokens: outputTokens }),
        );
        // A rate of `micros` × 10^-6 USD/MTok costs `micros` × 10^-3 nano per token: Σ tokens × micros is exact in 10^-3 nano.
        const exactThousandthsOfNano =
          BigInt(tokens - cachedTokens - writeTokens) * input.micros +
          BigInt(cachedTokens) * cached.micros +
          BigInt(writeTokens) * write.micros +
          BigInt(outputTokens) * output.micros;
        const difference = priced.cost_nano * 1000n - exactThousandthsOfNano;
        expect(difference <= 500n && difference >= -500n).toBe(true);
        expectKindsSumToTotal(priced);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['rates without output', { output: undefined }],
    ['both rates and a discount', { discount_pct: '10' }],
    ['a discount above 100%', { input: undefined, output: undefined, discount_pct: '100.5' }],
    ['an empty validity window', { effective_to: T0 }],
    ['a malformed rate', { input: '1,5' }],
    ['a negative rate', { input: '-1' }],
  ])('rejects an override with %s at build time', (_, fields) => {
    expect(() => createPriceBook([override(fields)])).toThrow(/invalid price override/);
  });
});
