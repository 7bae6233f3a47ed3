import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka } from 'kafkajs';
import { registerAvroSchemas, valueSubject, type SchemaRegistry } from '@tokenledger/infra';
import {
  configChange, normalizeOutcome, normalizeUsage, outcomeEventAvro, topics, usageEventAvro, validateOutcome, validateUsage,
  type ConfigEvent, type OutcomeEvent, type OutcomePayload, type UsageEvent, type UsagePayload,
} from '@tokenledger/schemas';

/** A normalized usage event from a payload, as ingest would publish it. Throws on invalid input. */
export function usageEvent(tenantId: string, payload: Partial<UsagePayload> & Record<string, unknown>): UsageEvent {
  const result = validateUsage({
    occurred_at: '2026-11-01T10:00:00Z', provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 200,
    run_id: `run-${randomUUID()}`, ...payload,
  });
  if (!result.ok) throw new Error(`bad test usage: ${JSON.stringify(result.errors)}`);
  return normalizeUsage(result.event, { tenantId, receivedAt: Date.now() });
}

export function outcomeEvent(tenantId: string, payload: Partial<OutcomePayload> & Record<string, unknown>): OutcomeEvent {
  const result = validateOutcome({
    occurred_at: '2026-11-01T11:00:00Z', outcome_type: 'ticket_resolved', outcome_id: `o-${randomUUID()}`, status: 'accepted',
    run_ids: [`run-${randomUUID()}`], ...payload,
  });
  if (!result.ok) throw new Error(`bad test outcome: ${JSON.stringify(result.errors)}`);
  return normalizeOutcome(result.event, { tenantId, receivedAt: Date.now() });
}

/** Produces events in Confluent wire format (registry ids), acks=all. Raw buffers go as they are. */
export async function produce(kafka: Kafka, registry: SchemaRegistry, topic: string, events: (UsageEvent | OutcomeEvent | Buffer)[], poisonKey = 'poison'): Promise<void> {
  const schema = topic === topics.usage ? usageEventAvro : outcomeEventAvro;
  const subject = valueSubject(topic);
  const id = (await registerAvroSchemas(registry, [{ subject, schema }])).get(subject)!;
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = await Promise.all(
    events.map(async (e) =>
      Buffer.isBuffer(e)
        ? { key: poisonKey, value: e }
        : { key: `${e.tenant_id}/${'run_id' in e ? e.run_id : e.outcome_id}`, value: await registry.encode(id, e) },
    ),
  );
  for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
  await producer.disconnect();
}

/** The `acme` price the api tests configure: 2.5 USD/MTok input (cached too), 10 USD/MTok output. */
export function acmePriceOverride(tenantId: string): ConfigEvent {
  return configChange({
    tenantId, kind: 'price_override', itemId: 'acme', publishedBy: 'test',
    body: { provider: 'acme', model: 'acme-*', effective_from: 0, input: '2.5', cached_input: '2.5', output: '10' },
  });
}

/** An event's exact cost in nano-USD under acmePriceOverride (2,500 and 10,000 per token); 0 for other providers. */
export function acmeCostNano(e: UsageEvent): bigint {
  return e.provider === 'acme' ? BigInt(e.input_tokens) * 2_500n + BigInt(e.output_tokens) * 10_000n : 0n;
}
