/**
 * Plain-function checks for the common, valid case of the contracts, ahead of their zod
 * schemas. A check returns the value zod would output, or UNSURE; UNSURE never means
 * "invalid", only "ask zod", so every error message still comes from the zod schema alone.
 * Each check accepts a subset of what its zod counterpart accepts (the differential tests in
 * fast-path.test.ts hold them to that) and gives the same output for it.
 */
import { z } from 'zod';
import { parseDecimal } from './decimal.js';
import { EARLIEST_EPOCH_MILLIS, LATEST_EPOCH_MILLIS, MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, MAX_TAGS } from './fields.js';

/** The fast path cannot vouch for the value: the zod schema decides (and names what is wrong). */
export const UNSURE: unique symbol = Symbol('unsure');
export type Check = (value: unknown) => unknown;

/** The pattern behind fields.ts' `z.iso.datetime({ offset: true })`. */
const RFC3339 = z.core.regexes.datetime({ offset: true });

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** No lone surrogates (what LONE_SURROGATE finds), without a regular expression. */
const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

export function boundedString(maxLength: number): Check {
  return (value) =>
    typeof value === 'string' && value.length >= 1 && value.length <= maxLength && isWellFormed(value) ? value : UNSURE;
}

export const idCheck = boundedString(MAX_ID_LENGTH);
export const nameCheck = boundedString(MAX_NAME_LENGTH);

/** A well-formed string of at most `maxBytes` bytes of UTF-8. */
export function utf8StringWithin(maxBytes: number): Check {
  return (value) => {
    if (typeof value !== 'string' || !isWellFormed(value)) return UNSURE;
    return value.length * 3 <= maxBytes || Buffer.byteLength(value, 'utf8') <= maxBytes ? value : UNSURE;
  };
}

export function integerBetween(min: number, max: number): Check {
  return (value) => (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max ? value : UNSURE);
}

export const nonNegativeIntegerCheck = integerBetween(0, Number.MAX_SAFE_INTEGER);

export function oneOf(values: readonly string[]): Check {
  const allowed = new Set(values);
  return (value) => (typeof value === 'string' && allowed.has(value) ? value : UNSURE);
}

const isEpochMillis = (value: number) => Number.isSafeInteger(value) && value >= EARLIEST_EPOCH_MILLIS && value <= LATEST_EPOCH_MILLIS;

/** fields.ts' timestampInput: RFC 3339 text or epoch milliseconds, to epoch milliseconds. */
export const timestampCheck: Check = (value) => {
  if (typeof value === 'number') return isEpochMillis(value) ? value : UNSURE;
  if (typeof value !== 'string' || !RFC3339.test(value)) return UNSURE;
  const millis = Date.parse(value);
  return isEpochMillis(millis) ? millis : UNSURE;
};

/** fields.ts' moneyInput: a number or decimal string, to canonical decimal text. */
export const moneyCheck: Check = (value) => {
  if (!(typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) return UNSURE;
  const parsed = parseDecimal(value);
  return parsed.ok ? parsed.value : UNSURE;
};

/** fields.ts' tagsSchema: a fresh object of the same entries. */
export const tagsCheck: Check = (value) => {
  if (!isPlainObject(value)) return UNSURE;
  const tags: Record<string, string> = {};
  let entries = 0;
  for (const key in value) {
    // zod's record drops a "__proto__" entry; leave that, and anything odd, to zod.
    if (++entries > MAX_TAGS || key === '__proto__' || key.length > MAX_TAG_KEY_LENGTH || key.length === 0 || !isWellFormed(key)) return UNSURE;
    const tag = value[key];
    if (typeof tag !== 'string' || tag.length > MAX_TAG_VALUE_LENGTH || !isWellFormed(tag)) return UNSURE;
    tags[key] = tag;
  }
  return tags;
};

/**
 * A field of a strict object: its check, whether null and absence are allowed, and whether its
 * value goes aside (to the caller) rather than into the output.
 */
export type Field = readonly [name: string, check: Check, nullish: boolean, aside?: boolean];

export type StrictObjectCheck = (value: unknown, aside?: Record<string, unknown>) => Record<string, unknown> | typeof UNSURE;

/**
 * zod's strictObject over `fields` (in shape order): unknown keys and any doubtful field give
 * UNSURE; otherwise a fresh object with the fields present, in shape order, null kept as null.
 * Compiled to straight-line code, one monomorphic call per field, as a hand-written check would be.
 */
export function strictObjectCheck(fields: readonly Field[]): StrictObjectCheck {
  const known = new Set(fields.map(([name]) => name));
  const steps = fields.map(([name, , nullish, setAside], i) => {
    const key = JSON.stringify(name);
    const target = setAside ? 'side' : 'out';
    const absent = nullish ? `if (${key} in value) ${target}[${key}] = field;` : 'return UNSURE;';
    return `field = value[${key}];
      if (field === undefined || field === null) { ${absent} }
      else { field = check${i}(field); if (field === UNSURE) return UNSURE; ${target}[${key}] = field; }`;
  });
  const body = `return function strictObject(value, aside) {
    if (!isPlainObject(value)) return UNSURE;
    for (const key in value) if (!known.has(key)) return UNSURE;
    const out = {};
    const side = aside ?? out;
    let field;
    ${steps.join('\n    ')}
    return out;
  };`;
  const checks = fields.map(([, check]) => check);
  // Generated from the constant field tables of the contracts, never from input.
  const compile = new Function('UNSURE', 'isPlainObject', 'known', ...checks.map((_, i) => `check${i}`), body) as (...args: unknown[]) => StrictObjectCheck;
  return compile(UNSURE, isPlainObject, known, ...checks);
}
