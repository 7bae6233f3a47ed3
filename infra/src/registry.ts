import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avsc from 'avsc';

export { SchemaRegistry };

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

/**
 * Decodes Confluent wire format (magic byte 0, schema id, Avro) into a reader's schema. The
 * writer's schema comes from the registry client (cached by id); the reader type and one
 * resolver per writer id are built once, not per message (schema evolution included).
 */
export class AvroDecoder {
  private readonly readerType: avsc.Type;
  private readonly resolvers = new Map<number, Promise<avsc.Resolver | undefined>>();
  /** Writer ids whose resolver is built: decoding them needs no await. */
  private readonly resolved = new Map<number, avsc.Resolver | undefined>();

  constructor(private readonly registry: SchemaRegistry, readerSchema: object) {
    // Without record methods, a decoded record's prototype adds no enumerable keys: a strict
    // contract sees only the data, and no copy of the record is needed.
    this.readerType = avsc.Type.forSchema(readerSchema as avsc.Schema, { omitRecordMethods: true });
  }

  async decode(bytes: Buffer): Promise<unknown> {
    const id = schemaId(bytes);
    let resolver = this.resolvers.get(id);
    if (!resolver) {
      resolver = this.resolverFor(id);
      this.resolvers.set(id, resolver);
      resolver.then((r) => this.resolved.set(id, r), () => this.resolvers.delete(id)); // a registry outage is retried, not cached
    }
    return this.readerType.fromBuffer(bytes.subarray(5), await resolver) as unknown;
  }

  /**
   * Decodes synchronously when the writer's schema was resolved before (the common case), else
   * returns UNRESOLVED: call `decode`, which fetches it.
   */
  decodeResolved(bytes: Buffer): unknown {
    const id = schemaId(bytes);
    const resolver = this.resolved.get(id);
    if (resolver === undefined && !this.resolved.has(id)) return UNRESOLVED;
    return this.readerType.fromBuffer(bytes.subarray(5), resolver) as unknown;
  }

  private async resolverFor(id: number): Promise<avsc.Resolver | undefined> {
    const writer = (await this.registry.getSchema(id)) as unknown as avsc.Type;
    return this.readerType.equals(writer) ? undefined : this.readerType.createResolver(writer);
  }
}

/** What `AvroDecoder.decodeResolved` returns for a writer schema not fetched yet. */
export const UNRESOLVED: unique symbol = Symbol('unresolved writer schema');

function schemaId(bytes: Buffer): number {
  if (bytes.length < 5 || bytes[0] !== 0) throw new WireFormatError('not Confluent wire format (magic byte 0 + schema id)');
  return bytes.readUInt32BE(1);
}

export class WireFormatError extends Error {
  override name = 'WireFormatError';
}
