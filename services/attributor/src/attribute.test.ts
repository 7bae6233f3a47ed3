import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attributeUsage, compileConfig, parseAttributionConfig, type AttributionConfig, type UsageFact } from './attribute.js';
import { UNATTRIBUTED } from './attribution.js';
import type { UsageInput } from './usage-input.js';

const DEV_STARTS = Date.UTC(2026, 0, 1);
const EVENT_TIME = Date.UTC(2026, 1, 10, 9);

const config: AttributionConfig = {
  rules_version: 7,
  prices_version: 5,
  rules: [{ id: 'refunds', priority: 1, when: [{ field: 'prompt', keywords: ['refund'] }], target: { project: 'billing' } }],
  ticketPrefixes: { PAY: 'payments' },
  directory: {
    users: { ana: { team: 'payments-team' } },
    teams: { 'payments-team': { cost_center: 'CC-100', default_project: 'payments' } },
  },
  projects: {
    payments: { class: 'capex_eligible', investment: 'inv-pay', stages: { preliminary_until: DEV_STARTS } },
    billing: { class: 'opex' },
    alpha: { class: 'capex_eligible', stages: { preliminary_until: EVENT_TIME + 1 } },
  },
  priceOverrides: [
    { id: 'flat', tenant_id: 'tenant-a', provider: 'acme', model: 'acme-*', effective_from: 0, input: '1', output: '2', version: 3 },
  ],
};
const compiled = compileConfig(config);

function usageOf(fields: Partial<UsageInput>): UsageInput {
  return {
    tenant_id: 'tenant-a',
    event_id: 'event-1',
    occurred_at: EVENT_TIME,
    provider: 'acme',
    model: 'acme-large',
    operation: 'chat',
    input_tokens: 1_000_000,
    output_tokens: 500_000,
    cached_input_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    run_id: 'run-1',
    workflow: 'support',
    agent: 'helper',
    step: 'draft',
    user_id: 'ana',
    tags: {},
    prompt: { excerpt: 'hello', system_prompt_id: 'sp-1', fingerprint: 'fp-abc' },
    reported_cost_usd: '2.0000000015',
    ...fields,
  };
}

function allocationTotal(fact: UsageFact): bigint {
  return fact.allocations.reduce((sum, allocation) => sum + allocation.cost_nano, 0n);
}

describe('attributeUsage', () => {
  it('produces one fact with identity, exact costs, attribution and capitalization', () => {
    const fact = attributeUsage(usageOf({}), compiled);

    expect(fact).toEqual({
      tenant_id: 'tenant-a',
      event_id: 'event-1',
      occurred_at: EVENT_TIME,
      provider: 'acme',
      model: 'acme-large',
      operation: 'chat',
      run_id: 'run-1',
      workflow: 'support',
      agent: 'helper',
      step: 'draft',
      user_id: 'ana',
      input_tokens: 1_000_000,
      output_tokens: 500_000,
      cached_input_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      cost_nano: 2_000_000_000n,
      input_cost_nano: 1_000_000_000n,
      cached_input_cost_nano: 0n,
      cache_write_cost_nano: 0n,
      output_cost_nano: 1_000_000_000n,
      request_cost_nano: 0n,
      price_status: 'priced',
      price_source: 'override',
      price_ref: 'override:flat@3',
      reported_cost_nano: 2_000_000_002n, // 2.0000000015 USD, half-even to the nano
      tier: 'person',
      rule_id: 'directory:payments-team',
      system_prompt_id: 'sp-1',
      prompt_fingerprint: 'fp-abc',
      rules_version: 7,
      prices_version: 5,
      allocations: [
        {
          project: 'payments',
          investment: 'inv-pay', // from the project catalogue
          cost_center: 'CC-100',
          team: 'payments-team',
          capex_class: 'capex',
          capex_reason: 'asc350-40:application_development',
          cost_nano: 2_000_000_000n,
        },
      ],
    });
  });

  it('splits the cost exactly over a project_split, classifying each allocation', () => {
    const fact = attributeUsage(usageOf({ input_tokens: 1, output_tokens: 0, tags: { project_split: 'payments:1,billing:1,alpha:1' } }), compiled);

    expect(fact.cost_nano).toBe(1_000n);
    expect(fact.allocations.map(({ project, cost_nano, capex_reason }) => [project, cost_nano, capex_reason])).toEqual([
      ['payments', 334n, 'asc350-40:application_development'],
      ['billing', 333n, 'project_class:opex'],
      ['alpha', 333n, 'asc350-40:preliminary'],
    ]);
    expect(allocationTotal(fact)).toBe(fact.cost_nano);
  });

  it('records the deciding rule and the prompt fingerprint, never the prompt', () => {
    const fact = attributeUsage(usageOf({ prompt: { excerpt: 'a confidential refund', system_prompt_id: null, fingerprint: 'fp-xyz' } }), compiled);

    expect(fact).toMatchObject({ tier: 'prompt', rule_id: 'refunds', prompt_fingerprint: 'fp-xyz' });
    expect(JSON.stringify(fact, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))).not.toContain('confidential');
  });

  it('keeps an unpriced event at zero in the unattributed bucket', () => {
    const fact = attributeUsage(usageOf({ provider: 'nobody', model: 'mystery', user_id: null, prompt: null, reported_cost_usd: 'n/a' }), compiled);

    expect(fact).toMatchObject({
      cost_nano: 0n,
      price_status: 'unpriced',
      price_source: 'none',
      reported_cost_nano: null,
      tier: 'unattributed',
      prompt_fingerprint: null,
      system_prompt_id: null,
      allocations: [{ project: UNATTRIBUTED, capex_class: 'opex', capex_reason: 'unattributed', cost_nano: 0n }],
    });
  });

  it('prices with the genai-prices table when no override applies', () => {
    const fact = attributeUsage(usageOf({ provider: 'openai', model: 'gpt-4o' }), compiled);
    expect(fact).toMatchObject({ price_source: 'genai-prices', price_ref: 'genai-prices:openai/gpt-4o' });
    expect(allocationTotal(fact)).toBe(fact.cost_nano);
  });

  it('property: allocations always sum exactly to the event cost', () => {
    const splitEntry = fc.record({
      project: fc.constantFrom('payments', 'billing', 'alpha', 'other'),
      weight: fc.integer({ min: 1, max: 10_000 }).map((hundredths) => (hundredths / 100).toString()),
    });
    fc.assert(
      fc.property(
        fc.nat(50_000_000),
        fc.nat(5_000_000),
        fc.uniqueArray(splitEntry, { minLength: 1, maxLength: 4, selector: (entry) => entry.project }),
        (input, output, split) => {
          const projectSplit = split.map(({ project, weight }) => `${project}:${weight}`).join(',');
          const fact = attributeUsage(usageOf({ input_tokens: input, output_tokens: output, tags: { project_split: projectSplit } }), compiled);
          expect(fact.allocations).toHaveLength(split.length);
          expect(allocationTotal(fact)).toBe(fact.cost_nano);
          expect(fact.allocations.every((allocation) => allocation.cost_nano >= 0n)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('parseAttributionConfig', () => {
  it('accepts a valid configuration from JSON', () => {
    expect(parseAttributionConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
  });

  it.each([
    ['a missing version', { ...config, rules_version: undefined }],
    ['an unknown condition field', { ...config, rules: [{ ...config.rules[0], when: [{ field: 'body', keywords: ['x'] }] }] }],
    ['an unknown project class', { ...config, projects: { p: { class: 'maybe' } } }],
    ['an override with neither rates nor discount', { ...config, priceOverrides: [{ ...config.priceOverrides[0], input: undefined }] }],
  ])('rejects %s', (_, raw) => {
    expect(() => parseAttributionConfig(raw)).toThrow(/invalid attribution config/);
  });
});
