import { describe, expect, it } from 'vitest';
import { envelope, expectErrors, expectValid } from './test-support.js';
import { normalizeUsage, validateUsage, type UsageEvent, type UsagePayload } from './usage.js';

const base = { occurred_at: 1_738_315_800_000, provider: 'openai', model: 'gpt-4o' } satisfies UsagePayload;

function normalize(raw: unknown, tenantId = envelope.tenantId): UsageEvent {
  return normalizeUsage(expectValid(validateUsage(raw)), { ...envelope, tenantId });
}

function tokensOf(event: UsageEvent) {
  const { input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens } = event;
  return { input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens };
}

const errorsOf = (raw: unknown) => expectErrors(validateUsage(raw));
const pathsOf = (raw: unknown) => errorsOf(raw).map((error) => error.path);

describe('raw provider usage objects', () => {
  it('reads OpenAI chat completions usage', () => {
    const usage = {
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1000, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 200, accepted_prediction_tokens: 0 },
    };
    expect(tokensOf(normalize({ ...base, usage }))).toEqual({
      input_tokens: 1200,
      output_tokens: 300,
      cached_input_tokens: 1000,
      cache_write_tokens: 0,
      reasoning_tokens: 200,
    });
  });

  it('reads OpenAI embeddings usage, which has no completion tokens', () => {
    const event = normalize({ ...base, operation: 'embedding', usage: { prompt_tokens: 8, total_tokens: 8 } });
    expect(tokensOf(event)).toMatchObject({ input_tokens: 8, output_tokens: 0 });
  });

  it('reads OpenAI responses usage', () => {
    const usage = {
      input_tokens: 1200,
      input_tokens_details: { cached_tokens: 1000 },
      output_tokens: 300,
      output_tokens_details: { reasoning_tokens: 200 },
      total_tokens: 1500,
    };
    expect(tokensOf(normalize({ ...base, usage }))).toEqual({
      input_tokens: 1200,
      output_tokens: 300,
      cached_input_tokens: 1000,
      cache_write_tokens: 0,
      reasoning_tokens: 200,
    });
  });

  it('adds Anthropic cache reads and writes into the whole input', () => {
    const usage = { input_tokens: 50, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 300, service_tier: 'standard' };
    expect(tokensOf(normalize({ ...base, provider: 'anthropic', model: 'claude-sonnet-4', usage }))).toEqual({
      input_tokens: 1250,
      output_tokens: 300,
      cached_input_tokens: 1000,
      cache_write_tokens: 200,
      reasoning_tokens: 0,
    });
  });

  it('reads Anthropic usage whose cache counts are null', () => {
    const usage = { input_tokens: 50, output_tokens: 3, cache_read_input_tokens: null, cache_creation_input_tokens: null };
    expect(tokensOf(normalize({ ...base, usage }))).toMatchObject({ input_tokens: 50, cached_input_tokens: 0, cache_write_tokens: 0 });
  });

  it('accepts explicit counts that agree with the usage object, and fills what it lacks', () => {
    const event = normalize({ ...base, input_tokens: 100, cache_write_tokens: 20, usage: { prompt_tokens: 100, completion_tokens: 5 } });
    expect(tokensOf(event)).toMatchObject({ input_tokens: 100, output_tokens: 5, cache_write_tokens: 20 });
  });

  it('rejects explicit counts that contradict the usage object, naming both', () => {
    const errors = errorsOf({ ...base, input_tokens: 50, usage: { input_tokens: 50, output_tokens: 1, cache_read_input_tokens: 1000 } });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('input_tokens');
    expect(errors[0]?.message).toContain('usage.cache_read_input_tokens');
    expect(errors[0]?.message).toContain('1050');
  });

  it('rejects usage objects of no known flavor or of mixed flavors', () => {
    expect(pathsOf({ ...base, usage: {} })).toEqual(['usage']);
    expect(pathsOf({ ...base, usage: { prompt_tokens: 5, input_tokens: 5, output_tokens: 1 } })).toEqual(['usage']);
    expect(pathsOf({ ...base, usage: { input_tokens: 5, output_tokens: 1, input_tokens_details: {}, cache_read_input_tokens: 1 } })).toEqual(['usage']);
    expect(pathsOf({ ...base, usage: { completion_tokens: 5 } })).toEqual(['usage.prompt_tokens']);
    expect(pathsOf({ ...base, usage: { input_tokens: 5, cache_read_input_tokens: 1 } })).toEqual(['usage.output_tokens']);
  });
});

describe('token counts', () => {
  it('defaults every count to 0', () => {
    expect(tokensOf(normalize(base))).toEqual({ input_tokens: 0, output_tokens: 0, cached_input_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 });
  });

  it('rejects cache parts that exceed the whole input, naming the fields', () => {
    const errors = errorsOf({ ...base, input_tokens: 100, cached_input_tokens: 80, cache_write_tokens: 40 });
    expect(errors.map((error) => error.path)).toEqual(['input_tokens']);
    expect(errors[0]?.message).toMatch(/cached_input_tokens \(80\) \+ cache_write_tokens \(40\)/);
  });

  it('rejects reasoning that exceeds the whole output', () => {
    const errors = errorsOf({ ...base, output_tokens: 10, reasoning_tokens: 11 });
    expect(errors.map((error) => error.path)).toEqual(['output_tokens']);
    expect(errors[0]?.message).toContain('reasoning_tokens (11)');
  });

  it('rejects negative and fractional counts, naming the field', () => {
    expect(errorsOf({ ...base, input_tokens: -1, output_tokens: 1.5 })).toEqual([
      { path: 'input_tokens', message: 'must be a non-negative integer' },
      { path: 'output_tokens', message: 'must be a non-negative integer' },
    ]);
    expect(pathsOf({ ...base, reasoning_tokens: '7' })).toEqual(['reasoning_tokens']);
    expect(pathsOf({ ...base, usage: { prompt_tokens: 5, prompt_tokens_details: { cached_tokens: -3 } } })).toEqual([
      'usage.prompt_tokens_details.cached_tokens',
    ]);
  });
});

describe('payload shape', () => {
  it('applies defaults and leaves absent optionals null', () => {
    const event = normalize(base);
    expect(event).toMatchObject({ operation: 'chat', status: 'ok', attempt: 1, tags: {}, prompt: null, trace_id: null, latency_ms: null, reported_cost_usd: null });
    expect(event).toMatchObject({ tenant_id: 'acme', received_at: envelope.receivedAt });
  });

  it('treats null like an absent optional field', () => {
    expect(normalize({ ...base, trace_id: null, attempt: null, tags: null })).toEqual(normalize(base));
  });

  it('rejects unknown fields by name, at any depth', () => {
    expect(errorsOf({ ...base, promt: {} })).toEqual([{ path: 'promt', message: 'is not a known field' }]);
    expect(pathsOf({ ...base, prompt: { text: 'hi' } })).toEqual(['prompt.text']);
  });

  it('requires provider, model and occurred_at', () => {
    expect(errorsOf({})).toEqual([
      { path: 'occurred_at', message: 'is required' },
      { path: 'provider', message: 'is required' },
      { path: 'model', message: 'is required' },
    ]);
    expect(errorsOf([])).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });

  it('bounds strings, tags and enums', () => {
    expect(pathsOf({ ...base, model: 'm'.repeat(129) })).toEqual(['model']);
    expect(pathsOf({ ...base, run_id: 'r'.repeat(257) })).toEqual(['run_id']);
    expect(pathsOf({ ...base, provider: '' })).toEqual(['provider']);
    expect(pathsOf({ ...base, trace_id: 'bad\ud800' })).toEqual(['trace_id']);
    expect(pathsOf({ ...base, operation: 'speech', status: 'failed' })).toEqual(['operation', 'status']);
    expect(pathsOf({ ...base, attempt: 0 })).toEqual(['attempt']);
    const tooManyTags = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`k${index}`, 'v']));
    expect(pathsOf({ ...base, tags: tooManyTags })).toEqual(['tags']);
    expect(pathsOf({ ...base, tags: { env: 'v'.repeat(1025) } })).toEqual(['tags.env']);
    expect(errorsOf({ ...base, tags: { ['k'.repeat(129)]: 'v' } })[0]?.message).toBe('key must be at most 128 characters');
  });

  it('limits the prompt excerpt to 8 KiB of UTF-8, not 8192 characters', () => {
    expect(normalize({ ...base, prompt: { excerpt: 'a'.repeat(8192) } }).prompt?.excerpt).toHaveLength(8192);
    expect(pathsOf({ ...base, prompt: { excerpt: 'a'.repeat(8193) } })).toEqual(['prompt.excerpt']);
    const errors = errorsOf({ ...base, prompt: { excerpt: 'é'.repeat(4097) } });
    expect(errors).toEqual([{ path: 'prompt.excerpt', message: 'is 8194 bytes of UTF-8; at most 8192 (8 KiB) allowed' }]);
  });
});

describe('occurred_at', () => {
  it('accepts RFC 3339 with an offset and epoch milliseconds', () => {
    expect(normalize({ ...base, occurred_at: '2025-01-31T09:30:00.123+02:00' }).occurred_at).toBe(Date.UTC(2025, 0, 31, 7, 30, 0, 123));
    expect(normalize({ ...base, occurred_at: '2025-01-31T07:30:00.123456Z' }).occurred_at).toBe(Date.UTC(2025, 0, 31, 7, 30, 0, 123));
    expect(normalize({ ...base, occurred_at: 1_738_308_600_123 }).occurred_at).toBe(1_738_308_600_123);
  });

  it.each([['2025-01-31T09:30:00'], ['2025-02-30T09:30:00Z'], ['31/01/2025'], [1_738_308_600_123.5], [true]])('rejects %s', (occurredAt) => {
    expect(pathsOf({ ...base, occurred_at: occurredAt })).toEqual(['occurred_at']);
  });

  it('spots epoch seconds', () => {
    expect(errorsOf({ ...base, occurred_at: 1_738_308_600 })).toEqual([
      { path: 'occurred_at', message: 'looks like epoch seconds; send epoch milliseconds' },
    ]);
  });
});

describe('reported_cost_usd', () => {
  it.each<[number | string, string]>([
    [0.0123, '0.0123'],
    ['1.50', '1.5'],
    ['2.5e-3', '0.0025'],
    [3, '3'],
    ['0.000000001', '0.000000001'],
  ])('keeps %s as the exact decimal %s', (cost, canonical) => {
    expect(normalize({ ...base, reported_cost_usd: cost }).reported_cost_usd).toBe(canonical);
  });

  it.each([['0.0000000001'], [-1], ['abc'], ['1,5'], [0.1 + 0.2]])('rejects %s', (cost) => {
    expect(pathsOf({ ...base, reported_cost_usd: cost })).toEqual(['reported_cost_usd']);
  });
});

describe('event_id and run_id', () => {
  const payload = { ...base, input_tokens: 10, output_tokens: 2, run_id: 'run-1', tags: { env: 'prod', project: 'x' } };

  it('derives the same id for the same payload, whatever its key order or spelling', () => {
    const reordered = Object.fromEntries(Object.entries({ ...payload, tags: { project: 'x', env: 'prod' } }).reverse());
    const respelled = { ...payload, occurred_at: new Date(payload.occurred_at).toISOString(), attempt: 1, status: 'ok' };
    const id = normalize(payload).event_id;
    expect(id).toMatch(/^d_[0-9a-f]{64}$/);
    expect(normalize(payload).event_id).toBe(id);
    expect(normalize(reordered).event_id).toBe(id);
    expect(normalize(respelled).event_id).toBe(id);
  });

  it('derives a different id for a different payload or tenant', () => {
    const id = normalize(payload).event_id;
    expect(normalize({ ...payload, output_tokens: 3 }).event_id).not.toBe(id);
    expect(normalize({ ...payload, tags: { env: 'prod' } }).event_id).not.toBe(id);
    expect(normalize(payload, 'other-tenant').event_id).not.toBe(id);
  });

  it("keeps the client's id", () => {
    expect(normalize({ ...payload, event_id: 'evt-1' }).event_id).toBe('evt-1');
  });

  it('falls back from run_id to trace_id to event_id', () => {
    expect(normalize({ ...base, run_id: 'run-1', trace_id: 'trace-1' }).run_id).toBe('run-1');
    expect(normalize({ ...base, trace_id: 'trace-1' }).run_id).toBe('trace-1');
    const event = normalize(base);
    expect(event.run_id).toBe(event.event_id);
  });
});
