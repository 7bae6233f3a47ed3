/** The Confluent wire format (magic byte 0, 4-byte schema id, Avro body), written without copies. */

/** What the ingest needs of an avsc Type: write a value into a buffer. */
export interface AvroWriter {
  /** Writes `value` at `pos`; returns the end, or minus the bytes missing when `buffer` is too short. */
  encode(value: unknown, buffer: Buffer, pos: number): number;
}

export function isAvroWriter(schema: unknown): schema is AvroWriter {
  return typeof (schema as Partial<AvroWriter> | null)?.encode === 'function';
}

const HEADER_BYTES = 5;
const SLAB_BYTES = 256 * 1024;

/**
 * Encodes events one after another into a shared slab and hands out views of it, so a message
 * costs no allocation of its own; a full slab is left to the views still using it. The bytes
 * are those of the registry client's `encode(schemaId, event)`.
 */
export class WireEncoder {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  private pos = 0;

  constructor(private readonly writer: AvroWriter, private readonly schemaId: number) {}

  encode(event: unknown): Buffer {
    for (;;) {
      const start = this.pos;
      const body = start + HEADER_BYTES;
      const end = body <= this.slab.length ? this.writer.encode(event, this.slab, body) : -HEADER_BYTES;
      if (end >= 0) {
        this.slab[start] = 0;
        this.slab.writeInt32BE(this.schemaId, start + 1);
        this.pos = end;
        return this.slab.subarray(start, end);
      }
      const needed = HEADER_BYTES + Math.max(this.slab.length - body, 0) - end;
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, needed));
      this.pos = 0;
    }
  }
}

/** A request's messages for another thread: keys, and values back to back in one transferable buffer. */
export interface PackedMessages {
  keys: string[];
  values: ArrayBuffer;
  /** Where each value ends in `values`. */
  ends: Int32Array;
}

/** Copies the values (views of shared slabs) into one buffer of their own, which can be transferred. */
export function packMessages(messages: readonly { key: string; value: Buffer }[]): PackedMessages {
  let bytes = 0;
  for (const m of messages) bytes += m.value.length;
  const values = Buffer.allocUnsafeSlow(bytes);
  const ends = new Int32Array(messages.length);
  const keys = new Array<string>(messages.length);
  let end = 0;
  messages.forEach((m, i) => {
    end += m.value.copy(values, end);
    ends[i] = end;
    keys[i] = m.key;
  });
  return { keys, values: values.buffer as ArrayBuffer, ends };
}

/** The messages again, as views of the one buffer. */
export function unpackMessages(packed: PackedMessages): { key: string; value: Buffer }[] {
  const values = Buffer.from(packed.values);
  return packed.keys.map((key, i) => ({ key, value: values.subarray(i === 0 ? 0 : packed.ends[i - 1]!, packed.ends[i]!) }));
}

/** What a message list transfers: its buffers, which the sender can no longer use. */
export function transferList(packed: PackedMessages): ArrayBuffer[] {
  return [packed.values, packed.ends.buffer as ArrayBuffer];
}

/** An encoder for a registered schema id, from the registry client's own parsed schema (so its bytes are encode()'s). */
export async function encoderFor(registry: { getSchema(id: number): Promise<unknown> }, schemaId: number, topic: string): Promise<WireEncoder> {
  const schema = await registry.getSchema(schemaId);
  if (!isAvroWriter(schema)) throw new Error(`schema ${schemaId} of ${topic} is not an Avro schema`);
  return new WireEncoder(schema, schemaId);
}
