import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNSURE } from './fast-path.js';
import { fastValidateUsage, usageInputSchema } from './usage.js';

/** Values near every boundary the usage contract draws, valid and not. */
const anyValue = fc.oneof(
  fc.constantFrom(
    null, undefined, 0, -0, 1, -1, 1.5, 2 ** 31 - 1, 2 ** 31, Number.MAX_SAFE_INTEGER, 2 ** 53, NaN, Infinity,
    '', 'x', 'chat', 'embedding', 'ok', 'timeout', 'nope', '\ud800', 'a\ud83d\ude00b', 'x'.repeat(128), 'x'.repeat(129),
    'x'.repeat(256), 'x'.repeat(257), '0.0123', '1.50', '1e-3', '-1', '1e99', '0.0000000001', 'abc',
    1_738_315_800_000, 1_738_315_800, 946_684_799_999, 4_102_444_800_000, '2025-01-31T09:30:00Z',
    '2025-01-31T09:30:00.123456+02:00', '2025-02-30T09:30:00Z', '2025-01-31T09:30Z', '2025-01-31 09:30:00Z', '1999-12-31T23:59:59Z',
    true, [], ['a'], {}, { project: 'p' }, { __proto__: null, env: 'prod' },
    { excerpt: 'hello', system_prompt_id: 'sp-1', fingerprint: 'f' }, { excerpt: 'é'.repeat(4097) }, { excerpt: 'é'.repeat(4096) },
    { excerpt: null, other: 1 }, { prompt_tokens: 10, completion_tokens: 5 },
  ),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.dictionary(fc.string({ maxLength: 130 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 3 }),
);

const fieldNames = [
  'event_id', 'occurred_at', 'provider', 'model', 'operation', 'input_tokens', 'output_tokens', 'cached_input_tokens',
  'cache_write_tokens', 'reasoning_tokens', 'usage', 'run_id', 'trace_id', 'span_id', 'parent_span_id', 'attempt', 'status',
  'workflow', 'agent', 'step', 'user_id', 'tags', 'prompt', 'latency_ms', 'reported_cost_usd',
];

const typical = {
  event_id: 'run-1:0', occurred_at: '2026-11-01T00:00:01.123Z', provider: 'openai', model: 'gpt-4o', operation: 'chat',
  input_tokens: 2400, output_tokens: 300, cached_input_tokens: 1024, cache_write_tokens: 0, reasoning_tokens: 0,
  run_id: 'run-1', trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), parent_span_id: 'c'.repeat(16), attempt: 1, status: 'ok',
  workflow: 'support-triage', agent: 'triage', step: 'classify', user_id: 'u-01', tags: { project: 'support-bot', env: 'prod' },
  prompt: { excerpt: 'Customer #1 writes…', system_prompt_id: 'sp-1', fingerprint: 'f'.repeat(16) }, latency_ms: 900, reported_cost_usd: '0.0123',
};

/** The fast path either defers (UNSURE) or gives exactly zod's output, key order included. */
function expectAgreement(raw: unknown): boolean {
  const fast = fastValidateUsage(raw);
  if (fast === UNSURE) return false;
  const parsed = usageInputSchema.safeParse(raw);
  expect(parsed.success, JSON.stringify(raw)).toBe(true);
  expect(fast).toStrictEqual(parsed.data);
  expect(Object.keys(fast)).toEqual(Object.keys(parsed.data!));
  return true;
}

describe('fastValidateUsage, checked against the zod schema', () => {
  it('takes the common payloads itself', () => {
    expect(expectAgreement(typical)).toBe(true);
    expect(expectAgreement({ occurred_at: 1_738_315_800_000, provider: 'openai', model: 'gpt-4o' })).toBe(true);
    expect(expectAgreement({ ...typical, run_id: null, tags: null, prompt: { excerpt: null }, reported_cost_usd: 0.5 })).toBe(true);
  });

  it('agrees with zod on payloads with any field replaced by a boundary value', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...fieldNames, 'unknown_field'), anyValue, { maxKeys: 4 }), fc.boolean(), (changes, fromTypical) => {
        expectAgreement({ ...(fromTypical ? typical : { occurred_at: 1_738_315_800_000, provider: 'p', model: 'm' }), ...changes });
      }),
      { numRuns: 3_000 },
    );
  });

  it('agrees with zod on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void expectAgreement(value)), { numRuns: 500 });
  });
});
