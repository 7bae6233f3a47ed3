/** Outcome event: a unit of business work finished or failed, joined to the runs that did it. */
import { z } from 'zod';
import { decimalToUnits } from './decimal.js';
import { deriveEventId } from './event-id.js';
import {
  canonicalMoney,
  decimalInput,
  epochMillis,
  expecting,
  idString,
  moneyInput,
  nameString,
  nonNegativeInteger,
  tagsSchema,
  timestampInput,
  type Envelope,
} from './fields.js';
import { validateWith, type ValidationResult } from './validation.js';

export const outcomeStatuses = ['accepted', 'rejected', 'reworked', 'escalated', 'abandoned'] as const;
export type OutcomeStatus = (typeof outcomeStatuses)[number];

export const MAX_RUN_IDS = 1000;
const MAX_HUMAN_MINUTES = 1_000_000_000;
/** human_minutes travels as integer milli-minutes: exact, and sums exactly downstream. */
const HUMAN_MINUTES_FRACTION_DIGITS = 3;

const outcomeType = nameString.regex(/^[a-z0-9]+(?:[_.-][a-z0-9]+)*$/, { error: 'must be a lowercase slug like ticket_resolved' });
const status = z.enum(outcomeStatuses, { error: `must be one of ${outcomeStatuses.join(', ')}` });
const quality = z
  .number({ error: expecting('a number from 0 to 1') })
  .min(0, { error: 'must be a number from 0 to 1' })
  .max(1, { error: 'must be a number from 0 to 1' });
const humanMilliminutes = nonNegativeInteger.max(MAX_HUMAN_MINUTES * 10 ** HUMAN_MINUTES_FRACTION_DIGITS, {
  error: `must be at most ${MAX_HUMAN_MINUTES} minutes`,
});
const humanMinutesInput = decimalInput({ maxFractionDigits: HUMAN_MINUTES_FRACTION_DIGITS })
  .transform((minutes) => Number(decimalToUnits(minutes, HUMAN_MINUTES_FRACTION_DIGITS)))
  .pipe(humanMilliminutes);

const runIds = z
  .array(idString, { error: expecting('an array of run ids') })
  .min(1, { error: 'must list at least one run id' })
  .max(MAX_RUN_IDS, { error: `must list at most ${MAX_RUN_IDS} run ids` })
  .superRefine((ids, ctx) => {
    const firstIndexOf = new Map<string, number>();
    ids.forEach((id, index) => {
      const firstIndex = firstIndexOf.get(id);
      if (firstIndex === undefined) firstIndexOf.set(id, index);
      else ctx.addIssue({ code: 'custom', path: [index], message: `duplicates run_ids[${firstIndex}]` });
    });
  });

/** How this outcome shares each run's cost; relative weights, so only positive numbers. */
const runWeights = z.record(
  idString,
  z.number({ error: expecting('a positive number') }).positive({ error: 'must be a positive number' }),
  { error: expecting('an object mapping run ids to weights') },
);

function checkWeightedRunsAreListed(outcome: { run_ids: string[]; run_weights?: Record<string, number> | null }, ctx: z.RefinementCtx): void {
  const listed = new Set(outcome.run_ids);
  for (const runId of Object.keys(outcome.run_weights ?? {})) {
    if (!listed.has(runId)) ctx.addIssue({ code: 'custom', path: ['run_weights', runId], message: 'weights a run that is not in run_ids' });
  }
}

/** What clients POST; optional fields also accept null, meaning the same as absent. */
export const outcomeInputSchema = z
  .strictObject(
    {
      event_id: idString.nullish(),
      occurred_at: timestampInput,
      outcome_type: outcomeType,
      outcome_id: idString,
      run_ids: runIds,
      status,
      value_usd: moneyInput.nullish(),
      baseline_cost_usd: moneyInput.nullish(),
      human_minutes: humanMinutesInput.nullish(),
      quality: quality.nullish(),
      run_weights: runWeights.nullish(),
      tags: tagsSchema.nullish(),
    },
    { error: expecting('a JSON object') },
  )
  .superRefine(checkWeightedRunsAreListed);

/** The payload as clients send it. */
export type OutcomePayload = z.input<typeof outcomeInputSchema>;
/** A payload that passed validation: timestamp, money and human_minutes (as milli-minutes) normalized. */
export type ValidatedOutcome = z.output<typeof outcomeInputSchema>;

/** The normalized event as it goes on Kafka; field for field the Avro record dev.tokenledger.v1.OutcomeEvent. */
export const outcomeEventSchema = z
  .strictObject({
    tenant_id: idString,
    received_at: epochMillis,
    event_id: idString,
    occurred_at: epochMillis,
    outcome_type: outcomeType,
    outcome_id: idString,
    run_ids: runIds,
    status,
    value_usd: canonicalMoney.nullable(),
    baseline_cost_usd: canonicalMoney.nullable(),
    human_milliminutes: humanMilliminutes.nullable(),
    quality: quality.nullable(),
    run_weights: runWeights.nullable(),
    tags: tagsSchema,
  })
  .superRefine(checkWeightedRunsAreListed);

export type OutcomeEvent = z.output<typeof outcomeEventSchema>;

export function validateOutcome(raw: unknown): ValidationResult<ValidatedOutcome> {
  return validateWith(outcomeInputSchema, raw);
}

/** Fills defaults and the envelope; without a client event_id the id is derived from the normalized content. */
export function normalizeOutcome(outcome: ValidatedOutcome, envelope: Envelope): OutcomeEvent {
  const content = {
    occurred_at: outcome.occurred_at,
    outcome_type: outcome.outcome_type,
    outcome_id: outcome.outcome_id,
    run_ids: outcome.run_ids,
    status: outcome.status,
    value_usd: outcome.value_usd ?? null,
    baseline_cost_usd: outcome.baseline_cost_usd ?? null,
    human_milliminutes: outcome.human_minutes ?? null,
    quality: outcome.quality ?? null,
    run_weights: outcome.run_weights ?? null,
    tags: outcome.tags ?? {},
  };
  return {
    tenant_id: envelope.tenantId,
    received_at: envelope.receivedAt,
    event_id: outcome.event_id ?? deriveEventId({ tenant_id: envelope.tenantId, ...content }),
    ...content,
  };
}
