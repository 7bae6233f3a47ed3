import type { Envelope, FieldError } from '@tokenledger/schemas';
import { decodeBody, parseBatch, type BatchItem } from './body.js';
import { HttpError } from './errors.js';
import type { EventKind } from './kinds.js';
import { packMessages, type PackedMessages, type WireEncoder } from './wire.js';

export interface Rejection {
  index: number;
  errors: FieldError[];
}

/** A batch made ready for Kafka: how many items it held, the valid ones as messages in wire format, the rest by index. */
export interface PreparedBatch {
  items: number;
  messages: PackedMessages;
  rejected: Rejection[];
}

/** A request body as received, with the headers that say how to read it. */
export interface RawBody {
  body: Buffer;
  contentType: string | undefined;
  contentEncoding: string | undefined;
}

/** Validates each item, normalizes and encodes the valid ones, and says why each of the others is refused. */
export function prepareItems<V, E>(kind: EventKind<V, E>, items: BatchItem[], envelope: Envelope, encoder: WireEncoder): PreparedBatch {
  const messages: { key: string; value: Buffer }[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    if (!item.ok) return void rejected.push({ index, errors: [{ path: '', message: item.message }] });
    const result = kind.validate(item.value);
    if (!result.ok) return void rejected.push({ index, errors: result.errors });
    const event = kind.normalize(result.event, envelope);
    messages.push({ key: kind.key(event), value: encoder.encode(event) });
  });
  return { items: items.length, messages: packMessages(messages), rejected };
}

/** A JSON or NDJSON body (compressed or not) through prepareItems; a body that holds no items at all is refused (400). */
export async function prepareBody<V, E>(
  kind: EventKind<V, E>, raw: RawBody, envelope: Envelope, encoder: WireEncoder, maxBodyBytes: number,
): Promise<PreparedBatch> {
  const items = parseBatch(await decodeBody(raw.body, raw.contentEncoding, maxBodyBytes), raw.contentType);
  if (items.length === 0) throw new HttpError(400, 'body holds no events');
  return prepareItems(kind, items, envelope, encoder);
}
