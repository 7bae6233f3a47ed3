import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { normalizeUsage, validateUsage } from '@tokenledger/schemas';
import { encodeExportResponse, isGenAiUsageSpan, spansFromJson, spansFromProtobuf, usageInputFromSpan, type OtlpSpan } from './otlp.js';

const traceId = '5b8efff798038103d269b633813fc60c';
const spanId = 'eee19b7ec3c1b174';
const parentSpanId = 'eee19b7ec3c1b173';
const startNanos = 1_738_315_800_000_000_000n + 123_456n;
const endNanos = startNanos + 1_250_000_000n;
const startMs = 1_738_315_800_000;
const endMs = startMs + 1_250;

type JsonValue = { stringValue: string } | { intValue: string | number } | { doubleValue: number } | { boolValue: boolean };

function attr(key: string, value: string | number | boolean): { key: string; value: JsonValue } {
  if (typeof value === 'string') return { key, value: { stringValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  return { key, value: Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value } };
}

const genAiAttributes = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.usage.input_tokens': 1200,
  'gen_ai.usage.output_tokens': 300,
};

interface SpanSpec {
  attributes?: Record<string, string | number | boolean>;
  name?: string;
  status?: number;
  traceId?: string;
  spanId?: string;
}

function jsonSpan(spec: SpanSpec = {}) {
  return {
    traceId: spec.traceId ?? traceId.toUpperCase(), // receivers must not care about hex case
    spanId: spec.spanId ?? spanId,
    parentSpanId,
    name: spec.name ?? 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: String(startNanos),
    endTimeUnixNano: String(endNanos),
    attributes: Object.entries(spec.attributes ?? genAiAttributes).map(([k, v]) => attr(k, v)),
    status: { code: spec.status ?? 0 },
  };
}

function jsonRequest(spans: ReturnType<typeof jsonSpan>[], resource: Record<string, string> = { 'service.name': 'agent' }) {
  return {
    resourceSpans: [
      {
        resource: { attributes: Object.entries(resource).map(([k, v]) => attr(k, v)) },
        scopeSpans: [{ scope: { name: 'test' }, spans }],
      },
    ],
  };
}

function onlySpan(spec: SpanSpec = {}, resource?: Record<string, string>): OtlpSpan {
  const spans = spansFromJson(jsonRequest([jsonSpan(spec)], resource));
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

const usageOf = (spec: SpanSpec = {}, resource?: Record<string, string>) => usageInputFromSpan(onlySpan(spec, resource));

describe('OTLP/JSON spans', () => {
  it('reads ids as lower-case hex, times as milliseconds, attributes with their types', () => {
    const span = onlySpan({ attributes: { s: 'x', i: 7, d: 0.5, b: true } });
    expect(span).toMatchObject({ traceId, spanId, parentSpanId, name: 'chat gpt-4o', startMs, endMs, statusCode: 0 });
    expect(Object.fromEntries(span.attributes)).toEqual({ 'service.name': 'agent', s: 'x', i: 7, d: 0.5, b: true });
  });

  it('lets span attributes override resource attributes', () => {
    const span = onlySpan({ attributes: { 'service.name': 'span-level' } }, { 'service.name': 'resource-level', 'deployment.environment': 'prod' });
    expect(span.attributes.get('service.name')).toBe('span-level');
    expect(span.attributes.get('deployment.environment')).toBe('prod');
  });

  it('reads every span of every resource and scope', () => {
    const request = {
      resourceSpans: [
        { scopeSpans: [{ spans: [jsonSpan({ spanId: '01'.repeat(8) }), jsonSpan({ spanId: '02'.repeat(8) })] }, { spans: [jsonSpan({ spanId: '03'.repeat(8) })] }] },
        { scopeSpans: [{ spans: [jsonSpan({ spanId: '04'.repeat(8) })] }] },
        {},
      ],
    };
    expect(spansFromJson(request).map((s) => s.spanId)).toEqual(['01', '02', '03', '04'].map((b) => b.repeat(8)));
  });

  it('refuses what is not an export request', () => {
    for (const body of [null, [], 'x', {}, { resourceSpans: {} }]) expect(() => spansFromJson(body)).toThrow(/resourceSpans/);
  });
});

describe('GenAI span to usage event', () => {
  it('maps the GenAI semantic-convention attributes to a valid usage event', () => {
    const input = usageOf();
    expect(input).toEqual({
      event_id: `otlp-${traceId}-${spanId}`,
      occurred_at: endMs,
      provider: 'openai',
      model: 'gpt-4o',
      operation: 'chat',
      input_tokens: 1200,
      output_tokens: 300,
      run_id: traceId,
      trace_id: traceId,
      span_id: spanId,
      parent_span_id: parentSpanId,
      status: 'ok',
      step: 'chat gpt-4o',
      latency_ms: 1250,
    });
    const validated = validateUsage(input);
    expect(validated.ok).toBe(true);
    if (validated.ok) {
      const event = normalizeUsage(validated.event, { tenantId: 'acme', receivedAt: endMs + 10 });
      expect(event).toMatchObject({ tenant_id: 'acme', run_id: traceId, event_id: `otlp-${traceId}-${spanId}`, attempt: 1, tags: {} });
    }
  });

  it('takes the run id from tokenledger.run_id over the trace id', () => {
    expect(usageOf({ attributes: { ...genAiAttributes, 'tokenledger.run_id': 'run-42' } })).toMatchObject({ run_id: 'run-42', trace_id: traceId });
  });

  it('prefers the response model to the request model', () => {
    expect(usageOf({ attributes: { ...genAiAttributes, 'gen_ai.response.model': 'gpt-4o-2024-08-06' } }).model).toBe('gpt-4o-2024-08-06');
    expect(usageOf({ attributes: { ...genAiAttributes, 'gen_ai.response.model': '' } }).model).toBe('gpt-4o');
  });

  it('takes the provider from gen_ai.provider.name, else the older gen_ai.system', () => {
    const { 'gen_ai.provider.name': _, ...withoutProvider } = genAiAttributes;
    expect(usageOf({ attributes: { ...withoutProvider, 'gen_ai.system': 'anthropic' } }).provider).toBe('anthropic');
    expect(usageOf({ attributes: { ...genAiAttributes, 'gen_ai.system': 'anthropic' } }).provider).toBe('openai');
    expect(usageOf({ attributes: withoutProvider })).not.toHaveProperty('provider');
  });

  it('maps the span status: 2 is an error, unset and ok are ok', () => {
    expect(usageOf({ status: 2 }).status).toBe('error');
    expect(usageOf({ status: 1 }).status).toBe('ok');
    expect(usageOf({ status: 0 }).status).toBe('ok');
  });

  it('maps gen_ai.operation.name to the usage operations, chat by default', () => {
    const op = (name: string | undefined) => {
      const { 'gen_ai.operation.name': _, ...rest } = genAiAttributes;
      return usageOf({ attributes: name === undefined ? rest : { ...rest, 'gen_ai.operation.name': name } }).operation;
    };
    expect(op('embeddings')).toBe('embedding');
    expect(op('text_completion')).toBe('completion');
    expect(op('execute_tool')).toBe('tool');
    expect(op('generate_content')).toBe('chat');
    expect(op('something_new')).toBe('chat');
    expect(op(undefined)).toBe('chat');
  });

  it('collects tokenledger.tag.* attributes as tags', () => {
    const input = usageOf({ attributes: { ...genAiAttributes, 'tokenledger.tag.project': 'support-bot', 'tokenledger.tag.env': 'prod', 'other.tag': 'x' } });
    expect(input.tags).toEqual({ project: 'support-bot', env: 'prod' });
  });

  it('reads cached, cache-write and reasoning tokens and the tokenledger attributes', () => {
    const input = usageOf({
      attributes: {
        ...genAiAttributes,
        'gen_ai.usage.cache_read.input_tokens': 1000,
        'gen_ai.usage.cache_creation.input_tokens': 100,
        'gen_ai.usage.reasoning.output_tokens': 50,
        'gen_ai.agent.name': 'triage',
        'tokenledger.workflow': 'support',
        'tokenledger.step': 'classify',
        'tokenledger.attempt': 2,
        'user.id': 'u-1',
      },
    });
    expect(input).toMatchObject({
      cached_input_tokens: 1000,
      cache_write_tokens: 100,
      reasoning_tokens: 50,
      agent: 'triage',
      workflow: 'support',
      step: 'classify',
      attempt: 2,
      user_id: 'u-1',
    });
    expect(validateUsage(input).ok).toBe(true);
  });

  it('reads token counts sent as int64 strings or doubles', () => {
    const span = spansFromJson(jsonRequest([{ ...jsonSpan(), attributes: [attr('gen_ai.request.model', 'm'), attr('gen_ai.provider.name', 'p'), { key: 'gen_ai.usage.input_tokens', value: { intValue: '15' } }, { key: 'gen_ai.usage.output_tokens', value: { doubleValue: 4 } }] }]))[0]!;
    expect(usageInputFromSpan(span)).toMatchObject({ input_tokens: 15, output_tokens: 4 });
  });

  it('keeps the usage of a span whose name is too long to be a step', () => {
    const input = usageOf({ name: `POST https://example.com/${'x'.repeat(300)}` });
    expect((input.step as string).length).toBe(128);
    expect(validateUsage(input).ok).toBe(true);
    const astral = usageOf({ name: `${'a'.repeat(127)}🙂🙂` });
    expect(astral.step).toBe('a'.repeat(127)); // the pair that would not fit is dropped whole
    expect(validateUsage(astral).ok).toBe(true);
  });

  it('leaves a span invalid rather than inventing data it lacks', () => {
    const { 'gen_ai.request.model': _, ...withoutModel } = genAiAttributes;
    const result = validateUsage(usageOf({ attributes: withoutModel }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toContainEqual({ path: 'model', message: 'is required' });
  });
});

describe('isGenAiUsageSpan', () => {
  it('is true for spans with token usage, false for others', () => {
    expect(isGenAiUsageSpan(onlySpan())).toBe(true);
    expect(isGenAiUsageSpan(onlySpan({ attributes: { 'gen_ai.usage.output_tokens': 1 } }))).toBe(true);
    expect(isGenAiUsageSpan(onlySpan({ attributes: { 'http.request.method': 'GET', 'url.full': 'https://example.com' } }))).toBe(false);
    // A GenAI span without usage (a tool call, say) is not a usage event.
    expect(isGenAiUsageSpan(onlySpan({ attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' } }))).toBe(false);
  });
});

describe('OTLP/protobuf', () => {
  const require = createRequire(import.meta.url);
  const root = protobuf.parse(readFileSync(require.resolve('@tokenledger/schemas/otlp/trace.proto'), 'utf8'), { keepCase: true }).root;
  const ExportRequest = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
  const ExportResponse = root.lookupType('opentelemetry.proto.ExportTraceServiceResponse');

  function protoValue(value: string | number | boolean) {
    if (typeof value === 'string') return { string_value: value };
    if (typeof value === 'boolean') return { bool_value: value };
    return Number.isInteger(value) ? { int_value: value } : { double_value: value };
  }

  function encodeRequest(attributes: Record<string, string | number | boolean>, status = 0): Buffer {
    const request = ExportRequest.fromObject({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { string_value: 'agent' } }] },
          scope_spans: [
            {
              scope: { name: 'test', version: '1' },
              spans: [
                {
                  trace_id: Buffer.from(traceId, 'hex'),
                  span_id: Buffer.from(spanId, 'hex'),
                  parent_span_id: Buffer.from(parentSpanId, 'hex'),
                  name: 'chat gpt-4o',
                  kind: 3,
                  start_time_unix_nano: String(startNanos),
                  end_time_unix_nano: String(endNanos),
                  attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: protoValue(value) })),
                  status: { code: status },
                },
              ],
            },
          ],
        },
      ],
    });
    return Buffer.from(ExportRequest.encode(request).finish());
  }

  it('decodes to the same spans as the JSON encoding of the same request', () => {
    const attributes = { ...genAiAttributes, 'tokenledger.tag.project': 'p', ratio: 0.25, streaming: true };
    const [fromProto] = spansFromProtobuf(encodeRequest(attributes, 2));
    const [fromJson] = spansFromJson(jsonRequest([jsonSpan({ attributes, status: 2 })]));
    expect(fromProto).toEqual(fromJson);
    expect(fromProto).toMatchObject({ traceId, spanId, parentSpanId, startMs, endMs, statusCode: 2 });
    expect(fromProto?.attributes.get('gen_ai.usage.input_tokens')).toBe(1200);
    expect(usageInputFromSpan(fromProto!)).toMatchObject({ run_id: traceId, status: 'error', tags: { project: 'p' } });
  });

  it('throws on bytes that are not an export request', () => {
    expect(() => spansFromProtobuf(Buffer.from('{"resourceSpans":[]}'))).toThrow();
  });

  it('encodes the export response, with partial success only when spans were rejected', () => {
    expect(ExportResponse.toObject(ExportResponse.decode(encodeExportResponse(0, '')))).toEqual({});
    const partial = ExportResponse.toObject(ExportResponse.decode(encodeExportResponse(2, 'span x: model is required')), { longs: Number });
    expect(partial).toEqual({ partial_success: { rejected_spans: 2, error_message: 'span x: model is required' } });
  });
});
