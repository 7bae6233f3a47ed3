/** Zod building blocks shared by the usage and outcome contracts. */
import { z } from 'zod';
import { isCanonicalDecimal, parseDecimal, type DecimalOptions } from './decimal.js';

export const MAX_ID_LENGTH = 256;
export const MAX_NAME_LENGTH = 128;
export const MAX_TAGS = 64;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 1024;
/** Timestamps outside [2000, 2100) are mistakes, most often epoch seconds sent as milliseconds. */
export const EARLIEST_EPOCH_MILLIS = Date.UTC(2000, 0, 1);
export const LATEST_EPOCH_MILLIS = Date.UTC(2100, 0, 1) - 1;

/** Trusted facts ingest adds around a client's payload. */
export interface Envelope {
  /** From the API key, never from the body. */
  tenantId: string;
  /** Epoch milliseconds. */
  receivedAt: number;
}

/** Error message for a wrong or missing value: "is required" when absent, else "must be <expected>". */
export function expecting(expected: string) {
  return (issue: { input?: unknown }): string => (issue.input === undefined ? 'is required' : `must be ${expected}`);
}

// Matches only unpaired surrogates in u-mode; JSON can carry them ("\ud800") but UTF-8 (Avro, sha256) can't.
export const LONE_SURROGATE = /\p{Surrogate}/u;

/** A string that survives UTF-8: no lone surrogates. */
export function unicodeString() {
  return z
    .string({ error: expecting('a string') })
    .refine((text) => !LONE_SURROGATE.test(text), { error: 'must be well-formed Unicode (it has a lone surrogate)' });
}

function boundedString(maxLength: number) {
  return unicodeString()
    .min(1, { error: 'must not be empty' })
    .max(maxLength, { error: `must be at most ${maxLength} characters` });
}

export const idString = boundedString(MAX_ID_LENGTH);
export const nameString = boundedString(MAX_NAME_LENGTH);

const NON_NEGATIVE_INTEGER = 'a non-negative integer';
export const nonNegativeInteger = z
  .number({ error: expecting(NON_NEGATIVE_INTEGER) })
  .int({ error: `must be ${NON_NEGATIVE_INTEGER}` })
  .min(0, { error: `must be ${NON_NEGATIVE_INTEGER}` });

export const epochMillis = z
  .number({ error: expecting('epoch milliseconds') })
  .int({ error: 'must be an integer number of epoch milliseconds' })
  .min(EARLIEST_EPOCH_MILLIS, { error: 'must not be before 2000-01-01' })
  .max(LATEST_EPOCH_MILLIS, { error: 'must be before 2100-01-01' });

const rfc3339 = z.iso.datetime({ offset: true });
const TIMESTAMP_FORMS = 'an RFC 3339 timestamp with offset (2025-01-31T09:30:00Z) or epoch milliseconds';

/** RFC 3339 text or epoch milliseconds, normalized to epoch milliseconds (sub-millisecond digits truncated). */
export const timestampInput = z
  .union([z.number(), z.string()], { error: expecting(TIMESTAMP_FORMS) })
  .transform((value, ctx) => {
    if (typeof value === 'string' && !rfc3339.safeParse(value).success) {
      ctx.addIssue({ code: 'custom', message: `must be ${TIMESTAMP_FORMS}` });
      return z.NEVER;
    }
    const millis = typeof value === 'string' ? Date.parse(value) : value;
    const parsed = epochMillis.safeParse(millis);
    if (parsed.success) return parsed.data;
    const looksLikeSeconds = typeof value === 'number' && epochMillis.safeParse(value * 1000).success;
    ctx.addIssue({
      code: 'custom',
      message: looksLikeSeconds ? 'looks like epoch seconds; send epoch milliseconds' : (parsed.error.issues[0]?.message ?? `must be ${TIMESTAMP_FORMS}`),
    });
    return z.NEVER;
  });

/** A number or decimal string, normalized to canonical decimal text (see parseDecimal). */
export function decimalInput(options: DecimalOptions = {}) {
  return z
    .union([z.number(), z.string()], { error: expecting('a number or a decimal string like "0.0123"') })
    .transform((value, ctx) => {
      const parsed = parseDecimal(value, options);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    });
}

export const moneyInput = decimalInput();

/** Normalized USD: canonical non-negative decimal text, at most 9 fractional digits. */
export const canonicalMoney = z
  .string({ error: expecting('a decimal string') })
  .refine((text) => isCanonicalDecimal(text), { error: 'must be a canonical non-negative decimal string with at most 9 fractional digits' });

/** Free-form labels (project, cost_center, env, ...), bounded so one client can't bloat every row. */
export const tagsSchema = z
  .record(
    boundedString(MAX_TAG_KEY_LENGTH),
    unicodeString().max(MAX_TAG_VALUE_LENGTH, { error: `must be at most ${MAX_TAG_VALUE_LENGTH} characters` }),
    { error: expecting('an object of string values') },
  )
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, { error: `must have at most ${MAX_TAGS} entries` });
