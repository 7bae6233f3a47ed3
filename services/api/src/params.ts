/** Query parameters shared by the endpoints, validated with zod; a bad one is a 400 naming it. */
import { z } from 'zod';
import { outcomeDimensions } from './facts-sql.js';

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

/** An outcome type to keep, e.g. `ticket_resolved` (the slug outcome events carry). */
export const outcomeTypeField = z
  .string()
  .regex(/^[a-z0-9]+(?:[_.-][a-z0-9]+)*$/, { error: 'must be an outcome type slug like ticket_resolved' })
  .max(128, { error: 'must be at most 128 characters' })
  .optional()
  .describe('Only outcomes of this type');

/** A whole number from `min` to `max` in the query string, `fallback` when absent. */
export function integerField(min: number, max: number, fallback: number) {
  return z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` })
    .default(fallback);
}

/** Query of the outcome endpoints: the range (on the outcome's latest event), a type, groups. */
export const outcomeQuery = z.strictObject({
  ...rangeFields,
  outcome_type: outcomeTypeField,
  group_by: nameList(outcomeDimensions).describe(
    `Comma-separated: ${outcomeDimensions.join(', ')} (project: the outcome's own \`project\` tag)`,
  ),
});
