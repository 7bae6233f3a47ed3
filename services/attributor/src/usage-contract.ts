/**
 * The usage event contract as the attributor checks it after Avro decoding: the semantic rules
 * of `usageEventSchema` (bounds, enumerations, canonical money, token parts within their
 * whole) as plain comparisons. Avro already fixed every field's type and the set of fields,
 * and decodes strings from UTF-8, so they cannot hold lone surrogates; re-running zod over
 * each record only to learn that costs more than pricing it. The unit tests hold this check
 * and the zod schema to the same verdict.
 */
import { isCanonicalDecimal, MAX_EXCERPT_BYTES, usageOperations, usageStatuses, type UsageEvent } from '@tokenledger/schemas';

const MAX_ID_LENGTH = 256;
const MAX_NAME_LENGTH = 128;
const MAX_TAGS = 64;
const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 1024;
const EARLIEST_EPOCH_MILLIS = Date.UTC(2000, 0, 1);
const LATEST_EPOCH_MILLIS = Date.UTC(2100, 0, 1) - 1;
const OPERATIONS: ReadonlySet<string> = new Set(usageOperations);
const STATUSES: ReadonlySet<string> = new Set(usageStatuses);

export type UsageCheck = { ok: true; value: UsageEvent } | { ok: false; reason: string };

/** Why a decoded usage event breaks the contract (`path message`), or null when it keeps it. */
export function usageEventViolation(e: UsageEvent): string | null {
  return (
    boundedText('tenant_id', e.tenant_id, MAX_ID_LENGTH) ??
    epochMillis('received_at', e.received_at) ??
    boundedText('event_id', e.event_id, MAX_ID_LENGTH) ??
    epochMillis('occurred_at', e.occurred_at) ??
    boundedText('provider', e.provider, MAX_NAME_LENGTH) ??
    boundedText('model', e.model, MAX_NAME_LENGTH) ??
    (OPERATIONS.has(e.operation) ? null : `operation must be one of ${usageOperations.join(', ')}`) ??
    count('input_tokens', e.input_tokens) ??
    count('output_tokens', e.output_tokens) ??
    count('cached_input_tokens', e.cached_input_tokens) ??
    count('cache_write_tokens', e.cache_write_tokens) ??
    count('reasoning_tokens', e.reasoning_tokens) ??
    boundedText('run_id', e.run_id, MAX_ID_LENGTH) ??
    optionalText('trace_id', e.trace_id, MAX_ID_LENGTH) ??
    optionalText('span_id', e.span_id, MAX_ID_LENGTH) ??
    optionalText('parent_span_id', e.parent_span_id, MAX_ID_LENGTH) ??
    (Number.isInteger(e.attempt) && e.attempt >= 1 && e.attempt <= 2 ** 31 - 1 ? null : 'attempt must be an integer >= 1') ??
    (STATUSES.has(e.status) ? null : `status must be one of ${usageStatuses.join(', ')}`) ??
    optionalText('workflow', e.workflow, MAX_NAME_LENGTH) ??
    optionalText('agent', e.agent, MAX_NAME_LENGTH) ??
    optionalText('step', e.step, MAX_NAME_LENGTH) ??
    optionalText('user_id', e.user_id, MAX_ID_LENGTH) ??
    tags(e.tags) ??
    prompt(e.prompt) ??
    (e.latency_ms === null ? null : count('latency_ms', e.latency_ms)) ??
    (e.reported_cost_usd === null || isCanonicalDecimal(e.reported_cost_usd)
      ? null
      : 'reported_cost_usd must be a canonical non-negative decimal string with at most 9 fractional digits') ??
    tokenParts(e)
  );
}

/** The contract check the attributor's consumers run on each decoded record. */
export function checkUsageEvent(value: unknown): UsageCheck {
  const event = value as UsageEvent;
  const reason = usageEventViolation(event);
  return reason === null ? { ok: true, value: event } : { ok: false, reason };
}

function boundedText(path: string, text: string, max: number): string | null {
  if (text.length === 0) return `${path} must not be empty`;
  return longerThan(text, max) ? `${path} must be at most ${max} characters` : null;
}

/**
 * Lengths count Unicode code points, as zod does. A code point is one or two UTF-16 units, so
 * only text longer than the limit in units needs counting.
 */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let codePoints = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    if (++codePoints > max) return true;
  }
  return false;
}

function optionalText(path: string, text: string | null, max: number): string | null {
  return text === null ? null : boundedText(path, text, max);
}

function epochMillis(path: string, millis: number): string | null {
  if (!Number.isInteger(millis)) return `${path} must be an integer number of epoch milliseconds`;
  if (millis < EARLIEST_EPOCH_MILLIS) return `${path} must not be before 2000-01-01`;
  return millis > LATEST_EPOCH_MILLIS ? `${path} must be before 2100-01-01` : null;
}

function count(path: string, n: number): string | null {
  return Number.isInteger(n) && n >= 0 ? null : `${path} must be a non-negative integer`;
}

function tags(record: Record<string, string>): string | null {
  let entries = 0;
  for (const key in record) {
    entries++;
    const value = record[key] ?? '';
    if (key.length === 0) return `tags.${key} must not be empty`;
    if (longerThan(key, MAX_TAG_KEY_LENGTH)) return `tags.${key} must be at most ${MAX_TAG_KEY_LENGTH} characters`;
    if (longerThan(value, MAX_TAG_VALUE_LENGTH)) return `tags.${key} must be at most ${MAX_TAG_VALUE_LENGTH} characters`;
  }
  return entries > MAX_TAGS ? `tags must have at most ${MAX_TAGS} entries` : null;
}

function prompt(p: UsageEvent['prompt']): string | null {
  if (p === null) return null;
  // UTF-8 takes at least one byte per UTF-16 unit and at most three: count only when it can matter.
  if (p.excerpt !== null && p.excerpt.length * 3 > MAX_EXCERPT_BYTES && Buffer.byteLength(p.excerpt, 'utf8') > MAX_EXCERPT_BYTES) {
    return `prompt.excerpt is more than ${MAX_EXCERPT_BYTES} bytes of UTF-8`;
  }
  return optionalText('prompt.system_prompt_id', p.system_prompt_id, MAX_ID_LENGTH) ?? optionalText('prompt.fingerprint', p.fingerprint, MAX_ID_LENGTH);
}

/** Cache reads and writes are parts of input_tokens, reasoning a part of output_tokens. */
function tokenParts(e: UsageEvent): string | null {
  if (e.cached_input_tokens + e.cache_write_tokens > e.input_tokens) {
    return `input_tokens is ${e.input_tokens}, less than its parts cached_input_tokens (${e.cached_input_tokens}) + cache_write_tokens (${e.cache_write_tokens}); input_tokens counts the whole input`;
  }
  if (e.reasoning_tokens > e.output_tokens) {
    return `output_tokens is ${e.output_tokens}, less than its part reasoning_tokens (${e.reasoning_tokens}); output_tokens counts the whole output, reasoning included`;
  }
  return null;
}
