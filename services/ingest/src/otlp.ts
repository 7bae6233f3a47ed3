import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const protoPath = require.resolve('@tokenledger/schemas/otlp/trace.proto');
const root = protobuf.parse(readFileSync(protoPath, 'utf8'), { keepCase: true }).root;
const ExportRequest = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
const ExportResponse = root.lookupType('opentelemetry.proto.ExportTraceServiceResponse');

type AttributeValue = string | number | boolean | undefined;

/** A span reduced to what usage mapping reads. Ids are lower-case hex. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startMs: number;
  endMs: number;
  statusCode: number;
  attributes: Map<string, AttributeValue>;
}

interface JsonAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface JsonKeyValue {
  key?: string;
  value?: JsonAnyValue;
}
interface JsonSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: JsonKeyValue[];
  status?: { code?: number };
}
interface JsonRequest {
  resourceSpans?: { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
}

function jsonValue(v: JsonAnyValue | undefined): AttributeValue {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

function nanosToMs(n: string | number | undefined): number {
  if (n === undefined) return 0;
  return Number(BigInt(String(n)) / 1_000_000n);
}

function attributeMap(...lists: (JsonKeyValue[] | undefined)[]): Map<string, AttributeValue> {
  const map = new Map<string, AttributeValue>();
  for (const list of lists) for (const kv of list ?? []) if (kv.key) map.set(kv.key, jsonValue(kv.value));
  return map;
}

/** OTLP/JSON: ids are hex strings, 64-bit integers may be strings. Resource attributes under span ones. */
export function spansFromJson(request: unknown): OtlpSpan[] {
  const body = request as JsonRequest;
  if (typeof body !== 'object' || body === null || !Array.isArray(body.resourceSpans)) {
    throw new TypeError('not an OTLP ExportTraceServiceRequest: resourceSpans missing');
  }
  return body.resourceSpans.flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => ({
        traceId: (span.traceId ?? '').toLowerCase(),
        spanId: (span.spanId ?? '').toLowerCase(),
        parentSpanId: (span.parentSpanId ?? '').toLowerCase(),
        name: span.name ?? '',
        startMs: nanosToMs(span.startTimeUnixNano),
        endMs: nanosToMs(span.endTimeUnixNano),
        statusCode: span.status?.code ?? 0,
        attributes: attributeMap(rs.resource?.attributes, span.attributes),
      })),
    ),
  );
}

/** OTLP/protobuf: decoded with the same field names as OTLP/JSON, then read by the same code. */
export function spansFromProtobuf(body: Buffer): OtlpSpan[] {
  const message = ExportRequest.decode(body);
  const object = ExportRequest.toObject(message, { longs: String, bytes: String, defaults: false }) as {
    resource_spans?: { resource?: { attributes?: ProtoKeyValue[] }; scope_spans?: { spans?: ProtoSpan[] }[] }[];
  };
  return spansFromJson({
    resourceSpans: (object.resource_spans ?? []).map((rs) => ({
      resource: { attributes: rs.resource?.attributes?.map(protoKeyValue) },
      scopeSpans: (rs.scope_spans ?? []).map((ss) => ({
        spans: (ss.spans ?? []).map((s) => ({
          traceId: base64ToHex(s.trace_id),
          spanId: base64ToHex(s.span_id),
          parentSpanId: base64ToHex(s.parent_span_id),
          name: s.name,
          startTimeUnixNano: s.start_time_unix_nano,
          endTimeUnixNano: s.end_time_unix_nano,
          attributes: s.attributes?.map(protoKeyValue),
          status: { code: s.status?.code ?? 0 },
        })),
      })),
    })),
  });
}

interface ProtoKeyValue {
  key?: string;
  value?: { string_value?: string; int_value?: string; double_value?: number; bool_value?: boolean };
}
interface ProtoSpan {
  trace_id?: string;
  span_id?: string;
  parent_span_id?: string;
  name?: string;
  start_time_unix_nano?: string;
  end_time_unix_nano?: string;
  attributes?: ProtoKeyValue[];
  status?: { code?: number };
}

function protoKeyValue(kv: ProtoKeyValue): JsonKeyValue {
  const v = kv.value ?? {};
  return {
    key: kv.key ?? '',
    value: { stringValue: v.string_value, intValue: v.int_value, doubleValue: v.double_value, boolValue: v.bool_value },
  };
}

function base64ToHex(value: string | undefined): string {
  return value ? Buffer.from(value, 'base64').toString('hex') : '';
}

export function encodeExportResponse(rejectedSpans: number, errorMessage: string): Buffer {
  const payload = rejectedSpans > 0 ? { partial_success: { rejected_spans: rejectedSpans, error_message: errorMessage } } : {};
  return Buffer.from(ExportResponse.encode(ExportResponse.fromObject(payload)).finish());
}

const operations: Record<string, string> = {
  chat: 'chat',
  generate_content: 'chat',
  invoke_agent: 'chat',
  create_agent: 'chat',
  text_completion: 'completion',
  embeddings: 'embedding',
  execute_tool: 'tool',
};

const str = (v: AttributeValue): string | undefined => (v === undefined || v === '' ? undefined : String(v));
const num = (v: AttributeValue): number | undefined => (typeof v === 'number' ? v : v === undefined ? undefined : Number(v));

/** `step` is a bounded name; a long span name (some instrumentations put URLs there) must not cost the usage. */
const maxStepLength = 128;

function truncate(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const cut = text.slice(0, maxLength);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut; // never split a surrogate pair
}

/** Whether a span reports LLM token usage (OpenTelemetry GenAI semantic conventions). */
export function isGenAiUsageSpan(span: OtlpSpan): boolean {
  return span.attributes.has('gen_ai.usage.input_tokens') || span.attributes.has('gen_ai.usage.output_tokens');
}

/**
 * A GenAI span as a usage event in the ingest's input form. The run is the trace unless an
 * attribute (`tokenledger.run_id`) names one; the event id is the span's, so a re-export of
 * the same span is the same event.
 */
export function usageInputFromSpan(span: OtlpSpan): Record<string, unknown> {
  const a = span.attributes;
  const tags: Record<string, string> = {};
  for (const [key, value] of a) {
    if (key.startsWith('tokenledger.tag.') && value !== undefined) tags[key.slice('tokenledger.tag.'.length)] = String(value);
  }
  const input = {
    event_id: `otlp-${span.traceId}-${span.spanId}`,
    occurred_at: span.endMs || span.startMs,
    provider: str(a.get('gen_ai.provider.name')) ?? str(a.get('gen_ai.system')),
    model: str(a.get('gen_ai.response.model')) ?? str(a.get('gen_ai.request.model')),
    operation: operations[str(a.get('gen_ai.operation.name')) ?? 'chat'] ?? 'chat',
    input_tokens: num(a.get('gen_ai.usage.input_tokens')) ?? 0,
    output_tokens: num(a.get('gen_ai.usage.output_tokens')) ?? 0,
    cached_input_tokens: num(a.get('gen_ai.usage.cache_read.input_tokens')) ?? num(a.get('gen_ai.usage.cached_input_tokens')),
    cache_write_tokens: num(a.get('gen_ai.usage.cache_creation.input_tokens')),
    reasoning_tokens: num(a.get('gen_ai.usage.reasoning.output_tokens')) ?? num(a.get('gen_ai.usage.reasoning_tokens')),
    run_id: str(a.get('tokenledger.run_id')) ?? span.traceId,
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId || undefined,
    attempt: num(a.get('tokenledger.attempt')),
    status: span.statusCode === 2 ? 'error' : 'ok',
    workflow: str(a.get('tokenledger.workflow')),
    agent: str(a.get('gen_ai.agent.name')),
    step: str(a.get('tokenledger.step')) ?? (truncate(span.name, maxStepLength) || undefined),
    user_id: str(a.get('user.id')) ?? str(a.get('enduser.id')),
    latency_ms: span.endMs && span.startMs ? Math.max(0, span.endMs - span.startMs) : undefined,
    tags: Object.keys(tags).length ? tags : undefined,
  };
  // Absent attributes are left out rather than sent as undefined, so validation sees the defaults.
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}
