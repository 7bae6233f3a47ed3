/** Query parameters shared by the endpoints, validated with zod; a bad one is a 400 naming it. */
import { z } from 'zod';

const instant = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 timestamp, e.g. 2026-11-01T00:00:00Z' });

/** `a,b,c` → a list of known names, each once. */
export function nameList<const T extends string>(allowed: readonly [T, ...T[]]) {
  return z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []))
    .pipe(
      z.array(z.enum(allowed, { error: `must be a comma-separated list of: ${allowed.join(', ')}` }))
        .refine((list) => new Set(list).size === list.length, 'names a dimension twice'),
    );
}

/** `from` and `to` (RFC 3339): the range [from, to), by default the last 30 days. */
export const rangeFields = {
  from: instant.optional().describe('Start (inclusive), RFC 3339. Default: 30 days before `to`.'),
  to: instant.optional().describe('End (exclusive), RFC 3339. Default: now.'),
};

export interface Range {
  from: number;
  to: number;
}

/** Resolves `from`/`to` into epoch ms, refusing an empty or reversed range. */
export function resolveRange(q: { from?: string | undefined; to?: string | undefined }, maxDays: number): Range | { error: string; path: string } {
  const to = q.to ? Date.parse(q.to) : Date.now();
  const from = q.from ? Date.parse(q.from) : to - 30 * 86_400_000;
  if (from >= to) return { error: 'must be before to', path: 'from' };
  if (to - from > maxDays * 86_400_000) return { error: `the range may span at most ${maxDays} days`, path: 'from' };
  return { from, to };
}

export const intervals = ['hour', 'day', 'week', 'month'] as const;
export type Interval = (typeof intervals)[number];
export const intervalField = z.enum(intervals, { error: `must be one of ${intervals.join(', ')}` });
