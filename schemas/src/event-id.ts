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
  // Mostly one JSON.stringify of a sorted copy; objects with integer-like keys (which JS
  // enumerates first, whatever the insertion order) or "__proto__" take the member-by-member way.
  const sorted = sortedCopy(value, 0);
  return sorted === UNSORTABLE ? memberwiseCanonicalJson(value) : JSON.stringify(sorted);
}

const UNSORTABLE = Symbol('unsortable');
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const MAX_COPY_DEPTH = 64;

/** The value with object keys in sorted insertion order and null members left out, or UNSORTABLE. */
function sortedCopy(value: JsonValue | undefined, depth: number): JsonValue | typeof UNSORTABLE {
  if (value === null || typeof value !== 'object') return value === undefined ? UNSORTABLE : value;
  if (depth > MAX_COPY_DEPTH) return UNSORTABLE;
  if (Array.isArray(value)) {
    const copy: JsonValue[] = [];
    for (const item of value) {
      const inner = sortedCopy(item, depth + 1);
      if (inner === UNSORTABLE) return UNSORTABLE;
      copy.push(inner);
    }
    return copy;
  }
  const copy: { [key: string]: JsonValue } = {};
  for (const key of sortedKeys(value)) {
    const member = value[key];
    if (member === null || member === undefined) continue;
    if (isDigit(key.charCodeAt(0)) || key === '__proto__') return UNSORTABLE; // "__proto__" would set the copy's prototype
    const inner = sortedCopy(member, depth + 1);
    if (inner === UNSORTABLE) return UNSORTABLE;
    copy[key] = inner;
  }
  return copy;
}

function memberwiseCanonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(memberwiseCanonicalJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const members = sortedKeys(value).flatMap((key) => {
    const member = value[key];
    return member === null || member === undefined ? [] : [`${JSON.stringify(key)}:${memberwiseCanonicalJson(member)}`];
  });
  return `{${members.join(',')}}`;
}

/** Recent key lists and their sorted copies: events of one kind share a shape, so most sorts are lookups. */
const shapes: { keys: string[]; sorted: string[] }[] = [];
const MAX_SHAPES = 8;

function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  if (keys.length < 8) return keys.sort();
  for (const shape of shapes) if (sameKeys(shape.keys, keys)) return shape.sorted;
  const sorted = [...keys].sort();
  if (shapes.length === MAX_SHAPES) shapes.pop();
  shapes.unshift({ keys, sorted });
  return sorted;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
