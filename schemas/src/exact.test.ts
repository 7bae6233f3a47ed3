import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { divideRoundHalfEven, parseScaledDecimal, splitExactly, toScaledInteger } from './exact.js';

describe('parseScaledDecimal', () => {
  it.each([
    ['2.5', 25n, 1],
    ['0.08333333333333334', 8333333333333334n, 17],
    ['-0.125', -125n, 3],
    ['10', 10n, 0],
    ['.5', 5n, 1],
    ['1e-7', 1n, 7],
    ['1.5e3', 1500n, 0],
    [' 7 ', 7n, 0],
  ])('parses %s exactly', (text, mantissa, scale) => {
    expect(parseScaledDecimal(text)).toEqual({ mantissa, scale });
  });

  it.each(['', '.', 'abc', '1,5', '1.2.3', 'NaN', 'Infinity', '1e'])('rejects %j', (text) => {
    expect(parseScaledDecimal(text)).toBeNull();
  });
});

describe('toScaledInteger', () => {
  it('widens without loss and narrows with half-even rounding', () => {
    expect(toScaledInteger({ mantissa: 25n, scale: 1 }, 3)).toBe(2500n);
    expect(toScaledInteger({ mantissa: 25n, scale: 1 }, 0)).toBe(2n);
    expect(toScaledInteger({ mantissa: 35n, scale: 1 }, 0)).toBe(4n);
    expect(toScaledInteger({ mantissa: 251n, scale: 2 }, 1)).toBe(25n);
  });
});

describe('divideRoundHalfEven', () => {
  it.each([
    [5n, 2n, 2n],
    [7n, 2n, 4n],
    [6n, 4n, 2n],
    [5n, 4n, 1n],
    [7n, 4n, 2n],
    [-5n, 2n, -2n],
    [-7n, 2n, -4n],
    [-7n, 4n, -2n],
    [0n, 3n, 0n],
  ])('%d / %d = %d', (numerator, denominator, expected) => {
    expect(divideRoundHalfEven(numerator, denominator)).toBe(expected);
  });

  it('rejects a non-positive denominator', () => {
    expect(() => divideRoundHalfEven(1n, 0n)).toThrow(RangeError);
  });
});

describe('splitExactly', () => {
  it('gives leftover units to the largest remainders, ties to the lower index', () => {
    expect(splitExactly(100n, [1, 1, 1])).toEqual([34n, 33n, 33n]);
    expect(splitExactly(101n, [1, 1, 1])).toEqual([34n, 34n, 33n]);
    expect(splitExactly(10n, [1, 2, 2])).toEqual([2n, 4n, 4n]);
    expect(splitExactly(7n, [3n, 1n])).toEqual([5n, 2n]); // 5.25 / 1.75: the 0.75 remainder wins
  });

  it('splits by the exact decimal value of number weights', () => {
    expect(splitExactly(30n, [0.1, 0.2])).toEqual([10n, 20n]);
    expect(splitExactly(1_000_000_000n, [60, 40])).toEqual([600_000_000n, 400_000_000n]);
  });

  it('handles zero totals and zero weights', () => {
    expect(splitExactly(0n, [1, 2])).toEqual([0n, 0n]);
    expect(splitExactly(0n, [0, 0])).toEqual([0n, 0n]);
    expect(splitExactly(5n, [0, 1])).toEqual([0n, 5n]);
    expect(splitExactly(0n, [])).toEqual([]);
  });

  it('rejects what cannot be split', () => {
    expect(() => splitExactly(5n, [0, 0])).toThrow(RangeError);
    expect(() => splitExactly(5n, [])).toThrow(RangeError);
    expect(() => splitExactly(-1n, [1])).toThrow(RangeError);
    expect(() => splitExactly(5n, [1, -1])).toThrow(RangeError);
    expect(() => splitExactly(5n, [Number.NaN])).toThrow(RangeError);
    expect(() => splitExactly(5n, [Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });

  /** |share − total·w/W| < 1  ⇔  |share·W − total·w| < W */
  function withinOneUnit(share: bigint, total: bigint, weight: bigint, weightSum: bigint): boolean {
    const distance = share * weightSum - total * weight;
    return (distance < 0n ? -distance : distance) < weightSum;
  }

  it('property: bigint weights — exact sum, non-negative, within one unit of the proportional share', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 6n }), { minLength: 1, maxLength: 12 }).filter((weights) => weights.some((w) => w > 0n)),
        (total, weights) => {
          const shares = splitExactly(total, weights);
          const weightSum = weights.reduce((sum, weight) => sum + weight, 0n);
          expect(shares).toHaveLength(weights.length);
          expect(shares.reduce((sum, share) => sum + share, 0n)).toBe(total);
          shares.forEach((share, index) => {
            expect(share >= 0n).toBe(true);
            expect(withinOneUnit(share, total, weights[index] ?? 0n, weightSum)).toBe(true);
          });
        },
      ),
    );
  });

  it('property: decimal number weights behave like their exact decimal values', () => {
    const decimalWeight = fc.integer({ min: 0, max: 100_000 }).map((hundredths) => hundredths / 100);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.array(decimalWeight, { minLength: 1, maxLength: 12 }).filter((weights) => weights.some((w) => w > 0)),
        (total, weights) => {
          const shares = splitExactly(total, weights);
          const hundredths = weights.map((weight) => BigInt(Math.round(weight * 100)));
          expect(shares).toEqual(splitExactly(total, hundredths));
          expect(shares.reduce((sum, share) => sum + share, 0n)).toBe(total);
        },
      ),
    );
  });
});
