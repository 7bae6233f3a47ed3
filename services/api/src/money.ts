import { decimalToNanos, nanosToDecimal } from '@tokenledger/schemas';

/** Sums decimal USD strings exactly (via nano-units), never through floats. */
export function sumUsd(values: Iterable<string>): string {
  let total = 0n;
  for (const v of values) total += decimalToNanos(v);
  return nanosToDecimal(total);
}

/** a / b as decimal text with 9 fractional digits (half-even), or null when b is zero. */
export function divideUsd(numerator: string, denominator: bigint | number): string | null {
  const d = BigInt(denominator);
  if (d === 0n) return null;
  const n = decimalToNanos(numerator);
  const q = n / d;
  const r = n % d;
  const twice = 2n * (r < 0n ? -r : r);
  const away = n < 0n ? q - 1n : q + 1n;
  const rounded = twice < d ? q : twice > d ? away : q % 2n === 0n ? q : away;
  return nanosToDecimal(rounded);
}
