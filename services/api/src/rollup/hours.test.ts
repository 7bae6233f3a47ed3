import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunk } from './hours.js';
import { HOUR_MS, wholeHours } from './usage-hourly-sql.js';

describe('wholeHours', () => {
  it('is the whole hours inside the range, empty when there are none', () => {
    expect(wholeHours(0, 3 * HOUR_MS)).toEqual({ fromHour: 0, toHour: 3 * HOUR_MS });
    expect(wholeHours(1, 3 * HOUR_MS - 1)).toEqual({ fromHour: HOUR_MS, toHour: 2 * HOUR_MS });
    expect(wholeHours(HOUR_MS + 1, 2 * HOUR_MS - 1)).toEqual({ fromHour: 2 * HOUR_MS, toHour: 2 * HOUR_MS });
  });

  it('covers only instants in range, and every instant in range is in it or in a partial end', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 1e9 }), (from, length, at) => {
      const to = from + length;
      const { fromHour, toHour } = wholeHours(from, to);
      expect(fromHour % HOUR_MS).toBe(0);
      expect(toHour % HOUR_MS).toBe(0);
      expect(fromHour <= toHour).toBe(true);
      if (fromHour < toHour) expect(from <= fromHour && toHour <= to).toBe(true);
      const t = from + (at % length);
      const inWhole = t >= fromHour && t < toHour;
      const inEnds = t < fromHour || t >= toHour;
      expect(inWhole !== inEnds).toBe(true);
    }));
  });
});

describe('chunk', () => {
  it('splits in order into slices of at most n', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
  });
});
