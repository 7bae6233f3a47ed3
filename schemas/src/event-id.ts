import { createHash } from 'node:crypto';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Marks ids ingest derived, as opposed to ids the client sent. */
export const DERIVED_EVENT_ID_PREFIX = 'd_';

/**
 * An id for an event that came without one: sha256 of its canonical JSON, so a client retry
 * of the same payload gets the same id and deduplicates. Callers pass the normalized event
 * (tenant included, event_id and received_at excluded), so spelling differences that normalize
 * alike (RFC 3339 vs epoch ms, 1.50 vs "1.5", key order) don't change the id.
 */
export function deriveEventId(content: { [key: string]: JsonValue }): string {
  return DERIVED_EVENT_ID_PREFIX + createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/**
 * JSON with object keys sorted and null members omitted; omitting nulls means adding an
 * optional field to the schema later doesn't change the ids of events that don't use it.
 */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const members = Object.keys(value)
    .sort()
    .flatMap((key) => {
      const member = value[key];
      return member === null || member === undefined ? [] : [`${JSON.stringify(key)}:${canonicalJson(member)}`];
    });
  return `{${members.join(',')}}`;
}
