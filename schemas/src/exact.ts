/**
 * Exact integer arithmetic for money: decimal text → scaled bigint, half-even division,
 * and splitting a total into weighted shares that sum exactly to it.
 */

/** An exact decimal number: mantissa × 10^-scale. */
export interface ScaledDecimal {
  mantissa: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses decimal text such as "2.5", "-0.125", "1e-7" (also what `String(number)` prints) exactly.
 * Returns null for anything that is not a finite decimal.
 */
export function parseScaledDecimal(text: string): ScaledDecimal | null {
  const match = DECIMAL_TEXT.exec(text.trim());
  if (!match) return null;
  const [, sign = '', integerDigits = '', fractionDigits = '', exponentText = '0'] = match;
  if (integerDigits === '' && fractionDigits === '') return null;
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 1000) return null;
  let mantissa = BigInt(`${integerDigits}${fractionDigits}` || '0');
  if (sign === '-') mantissa = -mantissa;
  const scale = fractionDigits.length - exponent;
  return scale >= 0 ? { mantissa, scale } : { mantissa: mantissa * 10n ** BigInt(-scale), scale: 0 };
}

/** The decimal as an integer count of 10^-targetScale units, rounding half-even if it has more digits. */
export function toScaledInteger(value: ScaledDecimal, targetScale: number): bigint {
  if (value.scale <= targetScale) return value.mantissa * 10n ** BigInt(targetScale - value.scale);
  return divideRoundHalfEven(value.mantissa, 10n ** BigInt(value.scale - targetScale));
}

/** numerator / denominator rounded to the nearest integer, ties to even (banker's rounding). */
export function divideRoundHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator;
  const twiceRemainder = 2n * (remainder < 0n ? -remainder : remainder);
  if (twiceRemainder < denominator) return quotient;
  const awayFromZero = numerator < 0n ? quotient - 1n : quotient + 1n;
  if (twiceRemainder > denominator) return awayFromZero;
  return quotient % 2n === 0n ? quotient : awayFromZero;
}

/**
 * Splits `total` smallest units (nano-USD) into shares proportional to `weights` with the
 * largest remainder method: every share gets the floor of its exact proportional share, and the
 * units left over go one each to the largest fractional remainders, ties to the lower index.
 * Shares sum exactly to `total` and each is within one unit of its exact proportional share.
 *
 * Number weights are taken at the exact value of their shortest decimal text (0.1 means 1/10),
 * so the split never depends on binary floating-point error.
 */
export function splitExactly(total: bigint, weights: readonly number[] | readonly bigint[]): bigint[] {
  if (total < 0n) throw new RangeError('total must be non-negative');
  // One positive weight takes everything: the common case, and no arithmetic needed.
  if (weights.length === 1 && (typeof weights[0] === 'bigint' ? weights[0] > 0n : (weights[0] as number) > 0 && Number.isFinite(weights[0]))) return [total];
  const exactWeights = toExactWeights(weights);
  const weightSum = exactWeights.reduce((sum, weight) => sum + weight, 0n);
  if (weightSum === 0n) {
    if (total === 0n) return exactWeights.map(() => 0n);
    throw new RangeError('cannot split a non-zero total over weights that sum to zero');
  }

  const shares = exactWeights.map((weight) => (total * weight) / weightSum);
  const remainders = exactWeights.map((weight, index) => ({ index, remainder: (total * weight) % weightSum }));
  let unitsLeft = total - shares.reduce((sum, share) => sum + share, 0n);
  remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (unitsLeft === 0n) break;
    shares[index] = (shares[index] ?? 0n) + 1n;
    unitsLeft -= 1n;
  }
  return shares;
}

function toExactWeights(weights: readonly number[] | readonly bigint[]): bigint[] {
  if (weights.every((weight) => typeof weight === 'bigint' || Number.isSafeInteger(weight))) {
    return weights.map((weight) => {
      if (weight < 0) throw new RangeError('weights must be non-negative');
      return typeof weight === 'bigint' ? weight : BigInt(weight);
    });
  }
  const decimals = weights.map((weight): ScaledDecimal => {
    if (typeof weight === 'bigint') return { mantissa: weight, scale: 0 };
    const decimal = Number.isFinite(weight) ? parseScaledDecimal(String(weight)) : null;
    if (!decimal) throw new RangeError(`weight must be finite, got ${weight}`);
    return decimal;
  });
  const commonScale = Math.max(0, ...decimals.map((decimal) => decimal.scale));
  return decimals.map((decimal) => {
    if (decimal.mantissa < 0n) throw new RangeError('weights must be non-negative');
    return toScaledInteger(decimal, commonScale);
  });
}
