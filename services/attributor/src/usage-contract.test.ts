import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usageEventAvroType, usageEventSchema, usageOperations, usageStatuses, type UsageEvent } from '@tokenledger/schemas';
import { checkUsageEvent, usageEventViolation } from './usage-contract.js';

const Y2000 = Date.UTC(2000, 0, 1);
const Y2100 = Date.UTC(2100, 0, 1);

const good: UsageEvent = {
  tenant_id: 'acme',
  received_at: Date.UTC(2026, 0, 1),
  event_id: 'e-1',
  occurred_at: Date.UTC(2026, 0, 1),
  provider: 'openai',
  model: 'gpt-4o',
  operation: 'chat',
  input_tokens: 100,
  output_tokens: 50,
  cached_input_tokens: 40,
  cache_write_tokens: 10,
  reasoning_tokens: 20,
  run_id: 'run-1',
  trace_id: null,
  span_id: 's',
  parent_span_id: null,
  attempt: 1,
  status: 'ok',
  workflow: 'triage',
  agent: null,
  step: null,
  user_id: 'ana',
  tags: { project: 'payments' },
  prompt: { excerpt: 'refund please', system_prompt_id: null, fingerprint: 'f' },
  latency_ms: 120,
  reported_cost_usd: '0.0125',
};

/** Mostly a valid value, sometimes one at or just past a bound: most events break at most one rule. */
function mostly<T>(valid: fc.Arbitrary<T>, edges: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: edges, weight: 1 });
}
/** Text of a length around a bound; 'é' and '😀' make UTF-8 longer than UTF-16. */
const text = (lengths: number[]) =>
  fc.tuple(fc.constantFrom(...lengths), fc.constantFrom('a', 'é', '😀')).map(([n, c]) => c.repeat(Math.ceil(n / c.length)).slice(0, n));
const id = mostly(fc.string({ minLength: 1, maxLength: 20 }), text([0, 1, 256, 257]));
const name = mostly(fc.string({ minLength: 1, maxLength: 20 }), text([0, 1, 128, 129]));
const count = mostly(fc.nat(100_000), fc.constantFrom(0, 2 ** 40, -1));
const millis = mostly(fc.constant(Date.UTC(2026, 5, 1)), fc.constantFrom(Y2000 - 1, Y2000, Y2100 - 1, Y2100));

const events = fc.record({
  tenant_id: id,
  received_at: millis,
  event_id: id,
  occurred_at: millis,
  provider: name,
  model: name,
  operation: mostly(fc.constantFrom(...usageOperations), fc.constantFrom('bogus', '')),
  input_tokens: count,
  output_tokens: count,
  cached_input_tokens: count,
  cache_write_tokens: count,
  reasoning_tokens: count,
  run_id: id,
  trace_id: fc.option(id),
  span_id: fc.option(id),
  parent_span_id: fc.option(id),
  attempt: mostly(fc.constantFrom(1, 2), fc.constantFrom(-1, 0, 2 ** 31 - 1)),
  status: mostly(fc.constantFrom(...usageStatuses), fc.constant('OK')),
  workflow: fc.option(name),
  agent: fc.option(name),
  step: fc.option(name),
  user_id: fc.option(id),
  tags: mostly(
    fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string(), { maxKeys: 3 }),
    fc.oneof(
      fc.dictionary(text([0, 1, 128, 129]), text([0, 1024, 1025]), { minKeys: 1, maxKeys: 2 }),
      fc.constantFrom(64, 65).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']))),
    ),
  ),
  prompt: fc.option(
    fc.record({ excerpt: fc.option(mostly(fc.string(), text([0, 2730, 2731, 4096, 4097, 8192, 8193]))), system_prompt_id: fc.option(id), fingerprint: fc.option(id) }),
  ),
  latency_ms: fc.option(count),
  reported_cost_usd: fc.option(mostly(fc.constantFrom('0', '0.0125', '1.5'), fc.constantFrom('01.5', '1.50', '0.1234567891', '-1', '1e3', ''))),
});

describe('usage event contract after Avro decoding', () => {
  it('passes a well-formed event through unchanged', () => {
    expect(checkUsageEvent(good)).toEqual({ ok: true, value: good });
  });

  it('gives the same verdict as the zod contract on every record Avro can carry', () => {
    let accepted = 0;
    fc.assert(
      fc.property(events, (event) => {
        // The clone drops the record methods of this shared type; the consumer's reader has none.
        const decoded = structuredClone(usageEventAvroType.fromBuffer(usageEventAvroType.toBuffer(event))) as UsageEvent;
        const verdict = usageEventViolation(decoded) === null;
        expect(verdict).toBe(usageEventSchema.safeParse(decoded).success);
        if (verdict) accepted++;
      }),
      { numRuns: 1_500 },
    );
    expect(accepted).toBeGreaterThan(50); // both verdicts were exercised
  });

  it('names the field that makes an event poison', () => {
    expect(usageEventViolation({ ...good, cached_input_tokens: 95 })).toMatch(/^input_tokens is 100, less than its parts/);
    expect(usageEventViolation({ ...good, reasoning_tokens: 51 })).toMatch(/^output_tokens is 50/);
    expect(usageEventViolation({ ...good, input_tokens: -5, cached_input_tokens: 0, cache_write_tokens: 0 })).toBe('input_tokens must be a non-negative integer');
    expect(usageEventViolation({ ...good, operation: 'dance' as UsageEvent['operation'] })).toMatch(/^operation must be one of/);
    expect(usageEventViolation({ ...good, occurred_at: 1_700_000_000 })).toBe('occurred_at must not be before 2000-01-01');
    expect(usageEventViolation({ ...good, reported_cost_usd: '1.50' })).toMatch(/^reported_cost_usd/);
    expect(usageEventViolation({ ...good, prompt: { excerpt: '😀'.repeat(2049), system_prompt_id: null, fingerprint: null } })).toMatch(/^prompt\.excerpt/);
  });
});
