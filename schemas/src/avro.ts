/** The Avro contracts of the Kafka topics, loaded from schemas/avro/*.avsc. */
import { readFileSync } from 'node:fs';
import avsc from 'avsc';

type AvroSchema = Parameters<typeof avsc.Type.forSchema>[0];
export type AvroRecordSchema = Extract<AvroSchema, { type: 'record' | 'error' }>;

function loadRecordSchema(fileName: string): AvroRecordSchema {
  const parsed: unknown = JSON.parse(readFileSync(new URL(`../avro/${fileName}`, import.meta.url), 'utf8'));
  if (!isRecordSchema(parsed)) throw new Error(`${fileName} is not an Avro record schema`);
  return parsed;
}

// Checks the outline only; Type.forSchema below rejects anything else that's wrong at load.
function isRecordSchema(value: unknown): value is AvroRecordSchema {
  return typeof value === 'object' && value !== null && 'type' in value && value.type === 'record' && 'fields' in value && Array.isArray(value.fields);
}

export const usageEventAvro = loadRecordSchema('usage-event.avsc');
export const outcomeEventAvro = loadRecordSchema('outcome-event.avsc');

export const configEventAvro = loadRecordSchema('config-event.avsc');
export const alertEventAvro = loadRecordSchema('alert-event.avsc');

export const usageEventAvroType = avsc.Type.forSchema(usageEventAvro);
export const outcomeEventAvroType = avsc.Type.forSchema(outcomeEventAvro);
export const configEventAvroType = avsc.Type.forSchema(configEventAvro);
export const alertEventAvroType = avsc.Type.forSchema(alertEventAvro);
