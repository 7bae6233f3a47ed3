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
