import { usageEventAvroType } from '@tokenledger/schemas';
import { describe, expect, it } from 'vitest';
import { WireEncoder } from './wire.js';

const event = (i: number, excerpt: string | null) => ({
  tenant_id: 'acme', received_at: 1_738_315_800_000, event_id: `e-${i}`, occurred_at: 1_738_315_800_000 + i, provider: 'openai',
  model: 'gpt-4o', operation: 'chat', input_tokens: i, output_tokens: 2, cached_input_tokens: 0, cache_write_tokens: 0,
  reasoning_tokens: 0, run_id: `run-${i}`, trace_id: null, span_id: null, parent_span_id: null, attempt: 1, status: 'ok',
  workflow: null, agent: null, step: null, user_id: null, tags: { env: 'prod' },
  prompt: excerpt === null ? null : { excerpt, system_prompt_id: null, fingerprint: null }, latency_ms: null, reported_cost_usd: null,
});

/** What @kafkajs/confluent-schema-registry's encode produces: magic byte, schema id (big-endian), Avro. */
function registryBytes(schemaId: number, value: unknown): Buffer {
  const id = Buffer.alloc(4);
  id.writeInt32BE(schemaId);
  return Buffer.concat([Buffer.alloc(1), id, usageEventAvroType.toBuffer(value)]);
}

describe('WireEncoder', () => {
  it('writes the registry client’s bytes, across slab boundaries and for events larger than a slab', () => {
    const encoder = new WireEncoder(usageEventAvroType, 70_000);
    const events = Array.from({ length: 3_000 }, (_, i) => event(i, i % 997 === 0 ? 'é'.repeat(200_000) : i % 2 ? 'x'.repeat(i % 300) : null));
    const encoded = events.map((e) => encoder.encode(e));
    events.forEach((e, i) => expect(encoded[i]!.equals(registryBytes(70_000, e)), `event ${i}`).toBe(true));
  });
});
