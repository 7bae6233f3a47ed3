/** Usage event: one LLM call. Clients POST the lenient input; ingest publishes the normalized event. */
import { z } from 'zod';
import { deriveEventId } from './event-id.js';
import {
  idCheck, integerBetween, moneyCheck, nameCheck, nonNegativeIntegerCheck, oneOf, strictObjectCheck, tagsCheck, timestampCheck,
  UNSURE, utf8StringWithin, type Field,
} from './fast-path.js';
import {
  canonicalMoney,
  epochMillis,
  expecting,
  idString,
  moneyInput,
  nameString,
  nonNegativeInteger,
  tagsSchema,
  timestampInput,
  unicodeString,
  type Envelope,
} from './fields.js';
import { providerUsageSchema, readProviderUsage, type TokenCounts, type TokenField } from './provider-usage.js';
import { validateWith, type ValidationResult } from './validation.js';

export const usageOperations = ['chat', 'completion', 'embedding', 'rerank', 'image', 'audio', 'tool'] as const;
export const usageStatuses = ['ok', 'error', 'timeout', 'cancelled'] as const;
export type UsageOperation = (typeof usageOperations)[number];
export type UsageStatus = (typeof usageStatuses)[number];

export const MAX_EXCERPT_BYTES = 8192;
const MAX_AVRO_INT = 2 ** 31 - 1;

const operation = z.enum(usageOperations, { error: `must be one of ${usageOperations.join(', ')}` });
const status = z.enum(usageStatuses, { error: `must be one of ${usageStatuses.join(', ')}` });
const attempt = z
  .number({ error: expecting('an integer >= 1') })
  .int({ error: 'must be an integer >= 1' })
  .min(1, { error: 'must be an integer >= 1' })
  .max(MAX_AVRO_INT, { error: `must be at most ${MAX_AVRO_INT}` });
const excerpt = unicodeString().superRefine((text, ctx) => {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_EXCERPT_BYTES) ctx.addIssue({ code: 'custom', message: `is ${bytes} bytes of UTF-8; at most ${MAX_EXCERPT_BYTES} (8 KiB) allowed` });
});

// Input: every optional field also accepts null, which means the same as absent.
const promptInputSchema = z.strictObject(
  { excerpt: excerpt.nullish(), system_prompt_id: idString.nullish(), fingerprint: idString.nullish() },
  { error: expecting('an object') },
);

const usagePayloadSchema = z.strictObject(
  {
    event_id: idString.nullish(),
    occurred_at: timestampInput,
    provider: nameString,
    model: nameString,
    operation: operation.nullish(),
    input_tokens: nonNegativeInteger.nullish(),
    output_tokens: nonNegativeInteger.nullish(),
    cached_input_tokens: nonNegativeInteger.nullish(),
    cache_write_tokens: nonNegativeInteger.nullish(),
    reasoning_tokens: nonNegativeInteger.nullish(),
    usage: providerUsageSchema.nullish(),
    run_id: idString.nullish(),
    trace_id: idString.nullish(),
    span_id: idString.nullish(),
    parent_span_id: idString.nullish(),
    attempt: attempt.nullish(),
    status: status.nullish(),
    workflow: nameString.nullish(),
    agent: nameString.nullish(),
    step: nameString.nullish(),
    user_id: idString.nullish(),
    tags: tagsSchema.nullish(),
    prompt: promptInputSchema.nullish(),
    latency_ms: nonNegativeInteger.nullish(),
    reported_cost_usd: moneyInput.nullish(),
  },
  { error: expecting('a JSON object') },
);

/**
 * What clients POST. Validation resolves the token counts: explicit fields and the provider's
 * raw `usage` object may both be sent, but where both give a count they must agree; a
 * disagreement is rejected rather than settled by a precedence rule, because one of the two
 * is wrong and picking either would misprice the call silently.
 */
export const usageInputSchema = usagePayloadSchema.transform((payload, ctx) => {
  const { usage, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, ...rest } = payload;
  const explicit = { input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens };
  const reading = usage ? readProviderUsage(usage) : { ok: true as const, counts: {} };
  if (!reading.ok) {
    ctx.addIssue({ code: 'custom', path: reading.path, message: reading.message });
    return z.NEVER;
  }
  const resolve = (field: TokenField): number => {
    const given = explicit[field];
    const fromUsage = reading.counts[field];
    if (given != null && fromUsage && given !== fromUsage.value) {
      ctx.addIssue({ code: 'custom', path: [field], message: `is ${given} but ${fromUsage.source} gives ${fromUsage.value}; send one or make them agree` });
    }
    return given ?? fromUsage?.value ?? 0;
  };
  const tokens: TokenCounts = {
    input_tokens: resolve('input_tokens'),
    output_tokens: resolve('output_tokens'),
    cached_input_tokens: resolve('cached_input_tokens'),
    cache_write_tokens: resolve('cache_write_tokens'),
    reasoning_tokens: resolve('reasoning_tokens'),
  };
  if (ctx.issues.length > 0) return z.NEVER; // parts vs whole means little once a count is in doubt
  for (const issue of tokenPartIssues(tokens)) ctx.addIssue({ code: 'custom', ...issue });
  return ctx.issues.length > 0 ? z.NEVER : { ...rest, ...tokens };
});

/** The payload as clients send it. */
export type UsagePayload = z.input<typeof usageInputSchema>;
/** A payload that passed validation: token counts resolved, timestamp and money normalized. */
export type ValidatedUsage = z.output<typeof usageInputSchema>;

/** The normalized event as it goes on Kafka; field for field the Avro record dev.tokenledger.v1.UsageEvent. */
export const usageEventSchema = z
  .strictObject({
    tenant_id: idString,
    received_at: epochMillis,
    event_id: idString,
    occurred_at: epochMillis,
    provider: nameString,
    model: nameString,
    operation,
    input_tokens: nonNegativeInteger,
    output_tokens: nonNegativeInteger,
    cached_input_tokens: nonNegativeInteger,
    cache_write_tokens: nonNegativeInteger,
    reasoning_tokens: nonNegativeInteger,
    run_id: idString,
    trace_id: idString.nullable(),
    span_id: idString.nullable(),
    parent_span_id: idString.nullable(),
    attempt,
    status,
    workflow: nameString.nullable(),
    agent: nameString.nullable(),
    step: nameString.nullable(),
    user_id: idString.nullable(),
    tags: tagsSchema,
    prompt: z
      .strictObject({ excerpt: excerpt.nullable(), system_prompt_id: idString.nullable(), fingerprint: idString.nullable() })
      .nullable(),
    latency_ms: nonNegativeInteger.nullable(),
    reported_cost_usd: canonicalMoney.nullable(),
  })
  .superRefine((event, ctx) => {
    for (const issue of tokenPartIssues(event)) ctx.addIssue({ code: 'custom', ...issue });
  });

export type UsageEvent = z.output<typeof usageEventSchema>;

/** usageInputSchema's fields in its shape order, as fast-path checks (see fast-path.ts). */
const promptFastCheck = strictObjectCheck([
  ['excerpt', utf8StringWithin(MAX_EXCERPT_BYTES), true],
  ['system_prompt_id', idCheck, true],
  ['fingerprint', idCheck, true],
]);
const TOKEN_FIELDS = ['input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens'] as const;
const usageFastFields: readonly Field[] = [
  ['event_id', idCheck, true],
  ['occurred_at', timestampCheck, false],
  ['provider', nameCheck, false],
  ['model', nameCheck, false],
  ['operation', oneOf(usageOperations), true],
  ...TOKEN_FIELDS.map((name): Field => [name, nonNegativeIntegerCheck, true, true]),
  // A provider's raw usage object is left to zod (and readProviderUsage): only null passes here.
  ['usage', () => UNSURE, true, true],
  ['run_id', idCheck, true],
  ['trace_id', idCheck, true],
  ['span_id', idCheck, true],
  ['parent_span_id', idCheck, true],
  ['attempt', integerBetween(1, MAX_AVRO_INT), true],
  ['status', oneOf(usageStatuses), true],
  ['workflow', nameCheck, true],
  ['agent', nameCheck, true],
  ['step', nameCheck, true],
  ['user_id', idCheck, true],
  ['tags', tagsCheck, true],
  ['prompt', promptFastCheck, true],
  ['latency_ms', nonNegativeIntegerCheck, true],
  ['reported_cost_usd', moneyCheck, true],
];
const usageFastCheck = strictObjectCheck(usageFastFields);

/**
 * usageInputSchema for the common case, without zod: explicit token counts (or none), no raw
 * usage object, parts within their wholes. Returns what the schema would, or UNSURE.
 */
export function fastValidateUsage(raw: unknown): ValidatedUsage | typeof UNSURE {
  const given: Partial<Record<TokenField, number | null>> = {};
  const checked = usageFastCheck(raw, given);
  if (checked === UNSURE) return UNSURE;
  const tokens = checked as unknown as TokenCounts;
  for (const field of TOKEN_FIELDS) tokens[field] = given[field] ?? 0;
  return tokenPartsFit(tokens) ? (checked as ValidatedUsage) : UNSURE;
}

export function validateUsage(raw: unknown): ValidationResult<ValidatedUsage> {
  const fast = fastValidateUsage(raw);
  return fast === UNSURE ? validateWith(usageInputSchema, raw) : { ok: true, event: fast };
}

/**
 * Fills defaults and the envelope. Without a client event_id the id is derived from the
 * normalized content (see deriveEventId); run_id falls back to trace_id, then to event_id.
 */
export function normalizeUsage(usage: ValidatedUsage, envelope: Envelope): UsageEvent {
  const runId = usage.run_id ?? usage.trace_id ?? null;
  const event = {
    tenant_id: envelope.tenantId,
    received_at: envelope.receivedAt,
    event_id: usage.event_id ?? '',
    occurred_at: usage.occurred_at,
    provider: usage.provider,
    model: usage.model,
    operation: usage.operation ?? 'chat',
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cached_input_tokens: usage.cached_input_tokens,
    cache_write_tokens: usage.cache_write_tokens,
    reasoning_tokens: usage.reasoning_tokens,
    run_id: runId,
    trace_id: usage.trace_id ?? null,
    span_id: usage.span_id ?? null,
    parent_span_id: usage.parent_span_id ?? null,
    attempt: usage.attempt ?? 1,
    status: usage.status ?? 'ok',
    workflow: usage.workflow ?? null,
    agent: usage.agent ?? null,
    step: usage.step ?? null,
    user_id: usage.user_id ?? null,
    tags: usage.tags ?? {},
    prompt: usage.prompt
      ? {
          excerpt: usage.prompt.excerpt ?? null,
          system_prompt_id: usage.prompt.system_prompt_id ?? null,
          fingerprint: usage.prompt.fingerprint ?? null,
        }
      : null,
    latency_ms: usage.latency_ms ?? null,
    reported_cost_usd: usage.reported_cost_usd ?? null,
  };
  if (usage.event_id == null) {
    // The derived id covers the normalized content: tenant included, event_id and received_at not.
    const { event_id: _eventId, received_at: _receivedAt, ...content } = event;
    event.event_id = deriveEventId(content);
  }
  event.run_id ??= event.event_id;
  return event as UsageEvent;
}

const ANTHROPIC_HINT = "Anthropic's input_tokens excludes cache tokens: add them in, or send its usage object as `usage`";

const tokenPartsFit = (tokens: TokenCounts): boolean =>
  tokens.cached_input_tokens + tokens.cache_write_tokens <= tokens.input_tokens && tokens.reasoning_tokens <= tokens.output_tokens;

/** Cache reads and writes are parts of input_tokens, reasoning a part of output_tokens. */
function tokenPartIssues(tokens: TokenCounts): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const cacheTokens = tokens.cached_input_tokens + tokens.cache_write_tokens;
  if (cacheTokens > tokens.input_tokens) {
    issues.push({
      path: ['input_tokens'],
      message: `is ${tokens.input_tokens}, less than its parts cached_input_tokens (${tokens.cached_input_tokens}) + cache_write_tokens (${tokens.cache_write_tokens}); input_tokens counts the whole input. ${ANTHROPIC_HINT}`,
    });
  }
  if (tokens.reasoning_tokens > tokens.output_tokens) {
    issues.push({
      path: ['output_tokens'],
      message: `is ${tokens.output_tokens}, less than its part reasoning_tokens (${tokens.reasoning_tokens}); output_tokens counts the whole output, reasoning included`,
    });
  }
  return issues;
}
