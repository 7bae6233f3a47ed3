import avsc from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outcomeEventAvro, outcomeEventAvroType, usageEventAvro, usageEventAvroType, type AvroRecordSchema } from './avro.js';
import { nanosToDecimal } from './decimal.js';
import { EARLIEST_EPOCH_MILLIS, LATEST_EPOCH_MILLIS, type Envelope } from './fields.js';
import { normalizeOutcome, outcomeEventSchema, outcomeStatuses, validateOutcome } from './outcome.js';
import { envelope, expectValid } from './test-support.js';
import { normalizeUsage, usageEventSchema, usageOperations, usageStatuses, validateUsage } from './usage.js';

const id = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/);
const label = fc.stringMatching(/^[a-z][a-z0-9._-]{0,30}$/);
const instant = fc.integer({ min: EARLIEST_EPOCH_MILLIS, max: LATEST_EPOCH_MILLIS });
const occurredAt = fc.oneof(instant, instant.map((millis) => new Date(millis).toISOString()));
const money = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 18n }).map(nanosToDecimal),
  fc.integer({ min: 0, max: 1_000_000_000 }).map((thousandths) => thousandths / 1000),
);
const tags = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,19}$/), fc.string({ unit: 'grapheme', maxLength: 40 }), {
  maxKeys: 8,
  noNullPrototype: true,
});
const orNull = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null, freq: 4 });
const envelopes: fc.Arbitrary<Envelope> = fc.record({ tenantId: id, receivedAt: instant });

/** One call's tokens, with every way a client may spell them: explicit fields or each provider's usage object. */
const tokenDraws = fc
  .record({ cached: fc.nat(1e6), written: fc.nat(1e6), uncached: fc.nat(1e6), reasoning: fc.nat(1e6), visible: fc.nat(1e6) })
  .map(({ cached, written, uncached, reasoning, visible }) => {
    const input = cached + written + uncached;
    const output = reasoning + visible;
    const counts = { input_tokens: input, output_tokens: output, cached_input_tokens: cached, cache_write_tokens: written, reasoning_tokens: reasoning };
    const spellings: Record<string, unknown>[] = [
      counts,
      {
        cache_write_tokens: written,
        usage: { prompt_tokens: input, completion_tokens: output, prompt_tokens_details: { cached_tokens: cached }, completion_tokens_details: { reasoning_tokens: reasoning } },
      },
      {
        cache_write_tokens: written,
        usage: { input_tokens: input, output_tokens: output, input_tokens_details: { cached_tokens: cached }, output_tokens_details: { reasoning_tokens: reasoning } },
      },
      { reasoning_tokens: reasoning, usage: { input_tokens: uncached, output_tokens: output, cache_read_input_tokens: cached, cache_creation_input_tokens: written } },
    ];
    return { counts, spellings };
  });
const tokenSpellings = tokenDraws.chain(({ spellings }) => fc.constantFrom(...spellings));

const usagePayloads = fc
  .tuple(
    fc.record(
      {
        event_id: orNull(id),
        occurred_at: occurredAt,
        provider: label,
        model: label,
        operation: orNull(fc.constantFrom(...usageOperations)),
        run_id: orNull(id),
        trace_id: orNull(id),
        span_id: orNull(id),
        parent_span_id: orNull(id),
        attempt: orNull(fc.integer({ min: 1, max: 2 ** 31 - 1 })),
        status: orNull(fc.constantFrom(...usageStatuses)),
        workflow: orNull(label),
        agent: orNull(label),
        step: orNull(label),
        user_id: orNull(id),
        tags: orNull(tags),
        prompt: orNull(
          fc.record(
            { excerpt: orNull(fc.string({ unit: 'grapheme', maxLength: 100 })), system_prompt_id: orNull(id), fingerprint: orNull(id) },
            { requiredKeys: [] },
          ),
        ),
        latency_ms: orNull(fc.nat()),
        reported_cost_usd: orNull(money),
      },
      { requiredKeys: ['occurred_at', 'provider', 'model'] },
    ),
    tokenSpellings,
  )
  .map(([fields, tokens]) => ({ ...fields, ...tokens }));

const outcomePayloads = fc.uniqueArray(id, { minLength: 1, maxLength: 20 }).chain((runIds) =>
  fc.record(
    {
      event_id: orNull(id),
      occurred_at: occurredAt,
      outcome_type: fc.stringMatching(/^[a-z]{1,20}(?:_[a-z0-9]{1,10}){0,3}$/),
      outcome_id: id,
      run_ids: fc.constant(runIds),
      status: fc.constantFrom(...outcomeStatuses),
      value_usd: orNull(money),
      baseline_cost_usd: orNull(money),
      human_minutes: orNull(fc.integer({ min: 0, max: 1e12 }).map((milliminutes) => milliminutes / 1000)),
      quality: orNull(fc.double({ min: 0, max: 1, noNaN: true })),
      run_weights: orNull(fc.dictionary(fc.constantFrom(...runIds), fc.double({ min: 1e-6, max: 1e6, noNaN: true }), { noNullPrototype: true })),
      tags: orNull(tags),
    },
    { requiredKeys: ['occurred_at', 'outcome_type', 'outcome_id', 'run_ids', 'status'] },
  ),
);

function recordType(type: avsc.Type): avsc.types.RecordType {
  if (!(type instanceof avsc.types.RecordType)) throw new Error(`${type.typeName} is not a record`);
  return type;
}

function nestedRecordType(type: avsc.types.RecordType, fieldName: string): avsc.types.RecordType {
  const fieldType = type.field(fieldName).type;
  const branches = fieldType instanceof avsc.types.UnwrappedUnionType ? fieldType.types : [fieldType];
  const record = branches.find((branch) => branch instanceof avsc.types.RecordType);
  if (!record) throw new Error(`${fieldName} holds no record`);
  return recordType(record);
}

/** The zod and Avro views of one record agree on the fields and on which of them may be null. */
function expectSameFields(zodShape: Record<string, { safeParse(value: unknown): { success: boolean } }>, avroRecord: avsc.types.RecordType) {
  const nullability = (name: string) => [name, zodShape[name]?.safeParse(null).success];
  const avroNullability = avroRecord.fields.map((field) => [field.name, field.type.isValid(null)]);
  expect(Object.keys(zodShape).sort()).toEqual(avroRecord.fields.map((field) => field.name).sort());
  expect(Object.keys(zodShape).map(nullability).sort()).toEqual(avroNullability.sort());
}

function expectAvroAccepts(type: avsc.Type, event: unknown) {
  const problems: string[] = [];
  const valid = type.isValid(event, { noUndeclaredFields: true, errorHook: (path) => problems.push(path.join('.')) });
  expect(problems).toEqual([]);
  expect(valid).toBe(true);
}

describe('usage contract: zod and Avro agree', () => {
  it('has the same fields, nullable alike, at every level', () => {
    expectSameFields(usageEventSchema.shape, recordType(usageEventAvroType));
    expectSameFields(usageEventSchema.shape.prompt.unwrap().shape, nestedRecordType(recordType(usageEventAvroType), 'prompt'));
  });

  it('normalizes every valid payload to an event both accept and Avro round-trips', () => {
    fc.assert(
      fc.property(usagePayloads, envelopes, (payload, envelopeForRun) => {
        const event = normalizeUsage(expectValid(validateUsage(payload)), envelopeForRun);
        expect(usageEventSchema.parse(event)).toEqual(event);
        expectAvroAccepts(usageEventAvroType, event);
        expect(usageEventAvroType.fromBuffer(usageEventAvroType.toBuffer(event))).toEqual(event);
      }),
    );
  });

  it('reads the same counts from every spelling of the tokens', () => {
    fc.assert(
      fc.property(tokenDraws, ({ counts, spellings }) => {
        for (const tokens of spellings) {
          const event = normalizeUsage(expectValid(validateUsage({ occurred_at: EARLIEST_EPOCH_MILLIS, provider: 'p', model: 'm', ...tokens })), envelope);
          expect(event).toMatchObject(counts);
        }
      }),
    );
  });
});

describe('outcome contract: zod and Avro agree', () => {
  it('has the same fields, nullable alike', () => {
    expectSameFields(outcomeEventSchema.shape, recordType(outcomeEventAvroType));
  });

  it('normalizes every valid payload to an event both accept and Avro round-trips', () => {
    fc.assert(
      fc.property(outcomePayloads, envelopes, (payload, envelopeForRun) => {
        const event = normalizeOutcome(expectValid(validateOutcome(payload)), envelopeForRun);
        expect(outcomeEventSchema.parse(event)).toEqual(event);
        expectAvroAccepts(outcomeEventAvroType, event);
        expect(outcomeEventAvroType.fromBuffer(outcomeEventAvroType.toBuffer(event))).toEqual(event);
      }),
    );
  });
});

describe.each([
  { contract: 'usage', schema: usageEventAvro, sample: normalizeUsage(expectValid(validateUsage({ occurred_at: EARLIEST_EPOCH_MILLIS, provider: 'p', model: 'm' })), envelope) },
  {
    contract: 'outcome',
    schema: outcomeEventAvro,
    sample: normalizeOutcome(
      expectValid(validateOutcome({ occurred_at: EARLIEST_EPOCH_MILLIS, outcome_type: 't', outcome_id: 'o', run_ids: ['r'], status: 'accepted' })),
      envelope,
    ),
  },
])('$contract schema evolution', ({ schema, sample }) => {
  const v1 = avsc.Type.forSchema(schema);
  const v2Schema: AvroRecordSchema = { ...schema, fields: [...schema.fields, { name: 'carbon_grams', type: ['null', 'double'], default: null }] };
  const v2 = avsc.Type.forSchema(v2Schema);

  it('v2 with a new optional field reads v1 data, filling the default', () => {
    expect(v2.fromBuffer(v1.toBuffer(sample), v2.createResolver(v1))).toEqual({ ...sample, carbon_grams: null });
  });

  it('v1 reads v2 data, skipping the field it does not know', () => {
    expect(v1.fromBuffer(v2.toBuffer({ ...sample, carbon_grams: 12.5 }), v1.createResolver(v2))).toEqual(sample);
  });

  it('declares every optional field as ["null", T] defaulting to null', () => {
    for (const field of schema.fields) {
      if (!Array.isArray(field.type)) continue;
      expect([field.name, field.type[0], field.default]).toEqual([field.name, 'null', null]);
    }
  });
});
