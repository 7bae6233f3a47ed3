import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalToNanos } from '@tokenledger/schemas';
import { nanoUsd, USAGE_FACT_COLUMNS } from './facts.js';

describe('usage fact rows', () => {
  it('writes nano-USD as exact decimal text, above 2^53 too', () => {
    expect(nanoUsd(0n)).toBe('0.000000000');
    expect(nanoUsd(1_802_500n)).toBe('0.001802500');
    expect(nanoUsd(12_000_000_001n)).toBe('12.000000001');
    expect(nanoUsd(-1_500_000_000n)).toBe('-1.500000000');
    expect(nanoUsd(9_007_199_254_740_991n)).toBe('9007199.254740991');
    expect(nanoUsd(9_007_199_254_740_993n)).toBe('9007199.254740993');
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 26n), max: 10n ** 26n }), (nanos) => {
        expect(decimalToNanos(nanoUsd(nanos))).toBe(nanos);
      }),
      { numRuns: 1_000 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 54n }), (nanos) => {
        expect(decimalToNanos(nanoUsd(nanos))).toBe(nanos);
      }),
      { numRuns: 1_000 },
    );
  });

  it('names every column once', () => {
    expect(new Set(USAGE_FACT_COLUMNS).size).toBe(USAGE_FACT_COLUMNS.length);
  });
});
