import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clickHouseTime } from './clickhouse.js';

describe('clickHouseTime', () => {
  it('is the ISO UTC time with a space and no zone, for any millisecond 1970–2100', () => {
    expect(clickHouseTime(Date.UTC(2026, 10, 22, 15, 4, 5, 6))).toBe('2026-11-22 15:04:05.006');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }), (ms) => {
        expect(clickHouseTime(ms)).toBe(new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
      }),
      { numRuns: 2_000 },
    );
  });
});
