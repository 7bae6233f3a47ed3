import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type JsonValue } from './event-id.js';
import { envelope } from './test-support.js';
import { normalizeUsage, validateUsage } from './usage.js';

/** The first canonicalJson, kept as the definition: derived ids already issued depend on its output. */
function reference(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const members = Object.keys(value)
    .sort()
    .flatMap((key) => {
      const member = value[key];
      return member === null || member === undefined ? [] : [`${JSON.stringify(key)}:${reference(member)}`];
    });
  return `{${members.join(',')}}`;
}

describe('canonicalJson', () => {
  it('gives the same text as its first definition for any JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void expect(canonicalJson(value as JsonValue)).toBe(reference(value as JsonValue))), { numRuns: 5_000 });
  });

  it('gives the same text for objects of many keys, integer-like and "__proto__" keys included', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '2', '01', '4294967295', '__proto__', 'a', 'b'));
    const objects = fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { minKeys: 8, maxKeys: 30 });
    fc.assert(fc.property(objects, (value) => void expect(canonicalJson(value as JsonValue)).toBe(reference(value as JsonValue))), { numRuns: 3_000 });
  });

  it('sorts keys, drops null members and keeps nulls in arrays', () => {
    expect(canonicalJson({ b: 1, a: [null, { d: null, c: '"' }], e: null, '10': 1, '9': 2 })).toBe('{"10":1,"9":2,"a":[null,{"c":"\\""}],"b":1}');
  });
});

describe('derived usage event ids', () => {
  it('stay what they were when first issued', () => {
    // Ids computed by the first implementation (commit 3cbed4f): clients' retries depend on them.
    const payloads = [
      {
        occurred_at: '2025-01-31T09:30:00.123Z', provider: 'openai', model: 'gpt-4o', input_tokens: 1200, output_tokens: 300,
        cached_input_tokens: 1000, run_id: 'run-1', trace_id: 'a'.repeat(32), tags: { project: 'support-bot', '10': 'x', '9': 'y', env: 'prod' },
        prompt: { excerpt: 'Customer "#1" writes…\n', fingerprint: 'f' }, reported_cost_usd: '0.0123000', attempt: 2, status: 'error',
        workflow: 'w', agent: 'a', step: 's', user_id: 'u', latency_ms: 900, span_id: 'b', parent_span_id: 'c',
      },
      {
        occurred_at: 1_738_315_800_000, provider: 'anthropic', model: 'claude-sonnet-4',
        usage: { input_tokens: 50, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 300 },
      },
      { occurred_at: 1_738_315_800_000, provider: 'google', model: 'gemini-2.5-flash', trace_id: 't-1', operation: 'embedding' },
    ];
    const ids = payloads.map((payload) => {
      const result = validateUsage(payload);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      return normalizeUsage(result.event, { ...envelope, tenantId: 'acme', receivedAt: 1 }).event_id;
    });
    expect(ids).toEqual([
      'd_35308195d09861e04905f5d73ff9bf9471ab2e6f36680c6f1656cf92b26581fc',
      'd_630bcb6daa31c889eb1bb2fb195977ab9b44c85d2ca1d723893abf1164312336',
      'd_97a16dd6f490546a66d6ef32a5b50549ed5719e2762582ec9d3210be2cef5d74',
    ]);
  });
});
