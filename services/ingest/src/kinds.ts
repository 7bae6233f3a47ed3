import {
  normalizeOutcome, normalizeUsage, outcomeEventAvro, topics, usageEventAvro, validateOutcome, validateUsage,
  type Envelope, type OutcomeEvent, type UsageEvent, type ValidationResult,
} from '@tokenledger/schemas';

/** What the ingest needs to know of an event kind: how to check it, shape it and key it. */
export interface EventKind<Validated, Event> {
  name: 'usage' | 'outcome';
  topic: string;
  avroSchema: object;
  validate(raw: unknown): ValidationResult<Validated>;
  normalize(validated: Validated, envelope: Envelope): Event;
  /** Kafka key: one run's usage shares a partition (and so an order). */
  key(event: Event): string;
}

export const usageKind: EventKind<Parameters<typeof normalizeUsage>[0], UsageEvent> = {
  name: 'usage',
  topic: topics.usage,
  avroSchema: usageEventAvro,
  validate: validateUsage,
  normalize: normalizeUsage,
  key: (e) => `${e.tenant_id}/${e.run_id}`,
};

export const outcomeKind: EventKind<Parameters<typeof normalizeOutcome>[0], OutcomeEvent> = {
  name: 'outcome',
  topic: topics.outcomes,
  avroSchema: outcomeEventAvro,
  validate: validateOutcome,
  normalize: normalizeOutcome,
  key: (e) => `${e.tenant_id}/${e.outcome_id}`,
};

/** The kinds by name. */
export const eventKinds = { usage: usageKind, outcome: outcomeKind } as Record<'usage' | 'outcome', EventKind<unknown, unknown>>;
