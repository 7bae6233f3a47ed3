import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

export { SchemaRegistry, SchemaType };
import type { RawAvroSchema } from '@kafkajs/confluent-schema-registry/dist/@types.js';

export interface AvroSubject {
  /** Confluent's TopicNameStrategy: `<topic>-value`. */
  subject: string;
  schema: object;
}

/**
 * Registers each Avro schema under its subject with BACKWARD compatibility and returns the
 * ids. Done once at start-up: the client caches schemas by id, not `register` calls.
 */
export async function registerAvroSchemas(registry: SchemaRegistry, subjects: AvroSubject[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const { subject, schema } of subjects) {
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    );
    ids.set(subject, id);
  }
  return ids;
}

export const valueSubject = (topic: string): string => `${topic}-value`;

/** Decodes Confluent wire format, resolving the writer's schema into the reader's (schema evolution). */
export async function decodeAvro(registry: SchemaRegistry, bytes: Buffer, readerSchema: object): Promise<unknown> {
  const record: unknown = await registry.decode(bytes, { [SchemaType.AVRO]: { readerSchema: readerSchema as RawAvroSchema } });
  // avsc returns instances of generated record classes; their prototype methods would look
  // like unknown fields to a strict contract. A structured clone keeps only the data.
  return structuredClone(record);
}
