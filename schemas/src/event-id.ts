import { hash } from 'node:crypto';

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
  return DERIVED_EVENT_ID_PREFIX + hash('sha256', canonicalJson(content), 'hex');
}

/**
 * JSON with object keys sorted and null members omitted; omitting nulls means adding an
 * optional field to the schema later doesn't change the ids of events that don't use it.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + (canonicalJson(value[i]!) ?? '');
    return `${text}]`;
  }
  const { sorted, members } = shapeOf(value);
  let text = '{';
  for (let i = 0; i < sorted.length; i++) {
    const member = value[sorted[i]!];
    if (member === null || member === undefined) continue;
    text += (text.length === 1 ? '' : ',') + members[i] + canonicalJson(member);
  }
  return `${text}}`;
}

/** An object's keys sorted, and each as the `"key":` that opens its member. */
interface Shape {
  keys: string[];
  sorted: string[];
  members: string[];
}

/** Recent shapes: events of one kind share one, so most objects need no sort. */
const shapes: Shape[] = [];
const MAX_SHAPES = 8;

function shapeOf(value: object): Shape {
  const keys = Object.keys(value);
  for (const shape of shapes) if (sameKeys(shape.keys, keys)) return shape;
  const sorted = [...keys].sort();
  const shape = { keys, sorted, members: sorted.map((key) => `${JSON.stringify(key)}:`) };
  if (shapes.length === MAX_SHAPES) shapes.pop();
  shapes.unshift(shape);
  return shape;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
