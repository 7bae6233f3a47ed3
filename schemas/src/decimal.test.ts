import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decimalToMicros,
  decimalToNanos,
  decimalToUnits,
  isCanonicalDecimal,
  microsToDecimal,
  nanosToDecimal,
  parseDecimal,
  unitsToDecimal,
} from './decimal.js';

describe('parseDecimal', () => {
  it.each<[number | string, string]>([
    ['12.50', '12.5'],
    [0.1, '0.1'],
    [12, '12'],
    ['00012.3400', '12.34'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['+7', '7'],
    ['-0.000', '0'],
    ['1.5e-3', '0.0015'],
    ['12E3', '12000'],
    [1e-7, '0.0000001'],
    ['0.000000001', '0.000000001'],
  ])('reads %s as %s', (input, canonical) => {
    expect(parseDecimal(input)).toEqual({ ok: true, value: canonical });
  });

  it.each<[number | string, string]>([
    [Number.NaN, 'finite'],
    [Number.POSITIVE_INFINITY, 'finite'],
    ['abc', 'decimal number'],
    ['', 'decimal number'],
    [' 1', 'decimal number'],
    ['1,5', 'decimal number'],
    ['0x10', 'decimal number'],
    ['1e-10', 'at most 9 fractional digits'],
    [0.1 + 0.2, 'at most 9 fractional digits'],
    ['-1', 'negative'],
    ['1e18', 'below 1e18'],
  ])('rejects %s', (input, reason) => {
    const result = parseDecimal(input);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toContain(reason);
  });

  it('accepts negatives and other precisions only when asked', () => {
    expect(parseDecimal('-1.50', { allowNegative: true })).toEqual({ ok: true, value: '-1.5' });
    expect(parseDecimal('1.2345', { maxFractionDigits: 3 }).ok).toBe(false);
    expect(parseDecimal('1.2340', { maxFractionDigits: 3 })).toEqual({ ok: true, value: '1.234' });
  });

  it('knows its canonical form', () => {
    expect(isCanonicalDecimal('12.5')).toBe(true);
    expect(isCanonicalDecimal('12.50')).toBe(false);
    expect(isCanonicalDecimal('-1')).toBe(false);
    expect(isCanonicalDecimal('-1', { allowNegative: true })).toBe(true);
  });
});

describe('fixed-point units', () => {
  it('converts USD to and from nano- and micro-units exactly', () => {
    expect(decimalToNanos('1')).toBe(1_000_000_000n);
    expect(decimalToNanos('0.000000001')).toBe(1n);
    expect(nanosToDecimal(1n)).toBe('0.000000001');
    expect(nanosToDecimal(-1_500_000_000n)).toBe('-1.5');
    expect(nanosToDecimal(0n)).toBe('0');
    expect(decimalToMicros('2.5')).toBe(2_500_000n);
    expect(microsToDecimal(2_500_001n)).toBe('2.500001');
    expect(decimalToUnits('12.5', 3)).toBe(12_500n);
    expect(unitsToDecimal(12_500n, 3)).toBe('12.5');
    expect(unitsToDecimal(42n, 0)).toBe('42');
  });

  it('refuses conversions that would lose precision', () => {
    expect(() => decimalToMicros('0.0000001')).toThrow(RangeError);
  });

  it('round-trips every nano amount through canonical text', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 27n) + 1n, max: 10n ** 27n - 1n }), (nanos) => {
        const text = nanosToDecimal(nanos);
        expect(isCanonicalDecimal(text, { allowNegative: true })).toBe(true);
        expect(decimalToNanos(text)).toBe(nanos);
      }),
    );
  });
});
