/**
 * Exact decimal amounts. Money travels as canonical decimal text ("12.5", "0.000000001")
 * and is computed on as bigint fixed-point units; no float ever touches the arithmetic.
 */

/** USD amounts carry at most nano-dollar precision. */
const MAX_MONEY_FRACTION_DIGITS = 9;
/** Bounds hostile input like "1e99999" and keeps nano-units within ClickHouse Decimal(38, 9). */
const MAX_INTEGER_DIGITS = 18;
const MAX_TEXT_LENGTH = 64;
const DECIMAL_TEXT = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

export interface DecimalOptions {
  /** Default 9. */
  maxFractionDigits?: number;
  /** Default false. */
  allowNegative?: boolean;
}

export type DecimalResult = { ok: true; value: string } | { ok: false; message: string };

/**
 * Canonical text of a decimal given as a number or a string: no exponent, no leading zeros,
 * no trailing fractional zeros, "0" for zero. Exponent notation is accepted ("1.5e-3").
 * A number is read through its shortest round-trip text, so 0.1 means "0.1".
 */
export function parseDecimal(input: number | string, options: DecimalOptions = {}): DecimalResult {
  const { maxFractionDigits = MAX_MONEY_FRACTION_DIGITS, allowNegative = false } = options;
  if (typeof input === 'number' && !Number.isFinite(input)) return failure('must be a finite number');
  const text = String(input);
  const match = text.length <= MAX_TEXT_LENGTH ? DECIMAL_TEXT.exec(text) : null;
  const [, sign = '', integerText = '', fractionText = '', exponentText = '0'] = match ?? [];
  if (!match || integerText + fractionText === '') return failure('must be a decimal number like 12.5 or "0.0123"');

  // Move the decimal point by the exponent, padding with zeros on whichever side it runs out.
  const pointIndex = integerText.length + Number(exponentText);
  const digits = '0'.repeat(Math.max(-pointIndex, 0)) + (integerText + fractionText).padEnd(pointIndex, '0');
  const integerDigits = digits.slice(0, Math.max(pointIndex, 0)).replace(/^0+/, '') || '0';
  const fractionDigits = digits.slice(Math.max(pointIndex, 0)).replace(/0+$/, '');

  if (fractionDigits.length > maxFractionDigits) return failure(`must have at most ${maxFractionDigits} fractional digits`);
  if (integerDigits.length > MAX_INTEGER_DIGITS) return failure(`must be below 1e${MAX_INTEGER_DIGITS}`);
  const isZero = integerDigits === '0' && fractionDigits === '';
  const isNegative = sign === '-' && !isZero;
  if (isNegative && !allowNegative) return failure('must not be negative');
  return { ok: true, value: `${isNegative ? '-' : ''}${integerDigits}${fractionDigits ? `.${fractionDigits}` : ''}` };
}

/** True when `text` is already the canonical form `parseDecimal` would produce. */
export function isCanonicalDecimal(text: string, options: DecimalOptions = {}): boolean {
  const parsed = parseDecimal(text, options);
  return parsed.ok && parsed.value === text;
}

/** Exact fixed-point units: decimalToUnits("1.5", 3) === 1500n. Throws if precision would be lost. */
export function decimalToUnits(decimal: string, scale: number): bigint {
  const parsed = parseDecimal(decimal, { maxFractionDigits: scale, allowNegative: true });
  if (!parsed.ok) throw new RangeError(`cannot convert "${decimal}" to units of 1e-${scale}: ${parsed.message}`);
  const isNegative = parsed.value.startsWith('-');
  const [integerDigits = '0', fractionDigits = ''] = parsed.value.replace('-', '').split('.');
  const units = BigInt(integerDigits + fractionDigits.padEnd(scale, '0'));
  return isNegative ? -units : units;
}

/** Canonical decimal text of fixed-point units: unitsToDecimal(1500n, 3) === "1.5". */
export function unitsToDecimal(units: bigint, scale: number): string {
  const isNegative = units < 0n;
  const digits = (isNegative ? -units : units).toString().padStart(scale + 1, '0');
  const integerDigits = digits.slice(0, digits.length - scale);
  const fractionDigits = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${isNegative ? '-' : ''}${integerDigits}${fractionDigits ? `.${fractionDigits}` : ''}`;
}

/** 1 USD = 1e9 nano-USD. */
export const decimalToNanos = (decimal: string): bigint => decimalToUnits(decimal, 9);
export const nanosToDecimal = (nanos: bigint): string => unitsToDecimal(nanos, 9);
/** 1 USD = 1e6 micro-USD; throws for amounts finer than a micro-dollar. */
export const decimalToMicros = (decimal: string): bigint => decimalToUnits(decimal, 6);
export const microsToDecimal = (micros: bigint): string => unitsToDecimal(micros, 6);

function failure(message: string): DecimalResult {
  return { ok: false, message };
}
