/**
 * Exact integer shares for the joiner: splitting a run's totals among the outcomes that claim it,
 * and half-even division for the loaded human cost.
 *
 * Same contract as the attributor's `allocation.ts` (`splitExactly`, `divideRoundHalfEven`);
 * services do not import each other, so the two copies wait to move into a shared package.
 */

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
 * Splits `total` smallest units into shares proportional to `weights` with the largest remainder
 * method: each share is the floor of its exact proportional share, and the units left over go one
 * each to the largest fractional remainders, ties to the lower index. The shares sum exactly to
 * `total` and each is within one unit of its exact proportional share.
 *
 * Number weights are taken at the exact value of their shortest decimal text (0.1 means 1/10), so
 * the split never depends on binary floating-point error. Weights must be non-negative; a total
 * over weights that sum to zero must be zero.
 */
export function splitExactly(total: bigint, weights: readonly number[] | readonly bigint[]): bigint[] {
  if (total < 0n) throw new RangeError('total must be non-negative');
  const exactWeights = toExactWeights(weights);
  const weightSum = exactWeights.reduce((sum, weight) => sum + weight, 0n);
  if (weightSum === 0n) {
    if (total === 0n) return exactWeights.map(() => 0n);
    throw new RangeError('cannot split a non-zero total over weights that sum to zero');
  }
  const shares = exactWeights.map((weight) => (total * weight) / weightSum);
  let unitsLeft = total - shares.reduce((sum, share) => sum + share, 0n);
  const byRemainder = exactWeights
    .map((weight, index) => ({ index, remainder: (total * weight) % weightSum }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of byRemainder) {
    if (unitsLeft === 0n) break;
    shares[index] = (shares[index] ?? 0n) + 1n;
    unitsLeft -= 1n;
  }
  return shares;
}

const DECIMAL_TEXT = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/;

/** Weights as integers over one common power of ten: exact ratios, whatever their decimal places. */
function toExactWeights(weights: readonly number[] | readonly bigint[]): bigint[] {
  const decimals = weights.map((weight) => {
    if (typeof weight === 'bigint') {
      if (weight < 0n) throw new RangeError('weights must be non-negative');
      return { mantissa: weight, scale: 0 };
    }
    const match = Number.isFinite(weight) && weight >= 0 ? DECIMAL_TEXT.exec(String(weight)) : null;
    if (!match) throw new RangeError(`weight must be a finite non-negative number, got ${weight}`);
    const [, integerDigits = '', fractionDigits = '', exponent = '0'] = match;
    const scale = fractionDigits.length - Number(exponent);
    const mantissa = BigInt(`${integerDigits}${fractionDigits}` || '0');
    return scale >= 0 ? { mantissa, scale } : { mantissa: mantissa * 10n ** BigInt(-scale), scale: 0 };
  });
  const commonScale = Math.max(0, ...decimals.map((decimal) => decimal.scale));
  return decimals.map((decimal) => decimal.mantissa * 10n ** BigInt(commonScale - decimal.scale));
}
