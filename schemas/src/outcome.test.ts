import { describe, expect, it } from 'vitest';
import { normalizeOutcome, validateOutcome, type OutcomeEvent, type OutcomePayload } from './outcome.js';
import { envelope, expectErrors, expectValid } from './test-support.js';

const base = {
  occurred_at: '2025-01-31T09:30:00Z',
  outcome_type: 'ticket_resolved',
  outcome_id: 'T-1042',
  run_ids: ['run-1', 'run-2'],
  status: 'accepted',
} satisfies OutcomePayload;

const normalize = (raw: unknown): OutcomeEvent => normalizeOutcome(expectValid(validateOutcome(raw)), envelope);
const pathsOf = (raw: unknown) => expectErrors(validateOutcome(raw)).map((error) => error.path);

describe('outcome normalization', () => {
  it('normalizes a full outcome', () => {
    const event = normalize({
      ...base,
      value_usd: '1200.00',
      baseline_cost_usd: 35.5,
      human_minutes: 12.5,
      quality: 0.9,
      run_weights: { 'run-1': 3, 'run-2': 1 },
      tags: { project: 'support' },
    });
    expect(event).toMatchObject({
      tenant_id: 'acme',
      received_at: envelope.receivedAt,
      occurred_at: Date.UTC(2025, 0, 31, 9, 30),
      value_usd: '1200',
      baseline_cost_usd: '35.5',
      human_milliminutes: 12_500,
      quality: 0.9,
      run_weights: { 'run-1': 3, 'run-2': 1 },
    });
    expect(event.event_id).toMatch(/^d_[0-9a-f]{64}$/);
  });

  it('leaves absent optionals null', () => {
    expect(normalize(base)).toMatchObject({ value_usd: null, baseline_cost_usd: null, human_milliminutes: null, quality: null, run_weights: null, tags: {} });
  });

  it('keeps human minutes exact as milli-minutes', () => {
    expect(normalize({ ...base, human_minutes: '0.001' }).human_milliminutes).toBe(1);
    expect(normalize({ ...base, human_minutes: 90 }).human_milliminutes).toBe(90_000);
    expect(pathsOf({ ...base, human_minutes: 1.2345 })).toEqual(['human_minutes']);
    expect(pathsOf({ ...base, human_minutes: -1 })).toEqual(['human_minutes']);
    expect(pathsOf({ ...base, human_minutes: 1e10 })).toEqual(['human_minutes']);
  });

  it('derives the same event_id for the same outcome and a new one when it changes', () => {
    const id = normalize(base).event_id;
    expect(normalize({ ...base, occurred_at: Date.UTC(2025, 0, 31, 9, 30) }).event_id).toBe(id);
    expect(normalize({ ...base, status: 'reworked' }).event_id).not.toBe(id);
    expect(normalize({ ...base, event_id: 'o-1' }).event_id).toBe('o-1');
  });
});

describe('outcome validation', () => {
  it('bounds run_ids and rejects duplicates by position', () => {
    expect(pathsOf({ ...base, run_ids: [] })).toEqual(['run_ids']);
    expect(pathsOf({ ...base, run_ids: Array.from({ length: 1001 }, (_, index) => `run-${index}`) })).toEqual(['run_ids']);
    expect(expectErrors(validateOutcome({ ...base, run_ids: ['a', 'b', 'a'] }))).toEqual([{ path: 'run_ids[2]', message: 'duplicates run_ids[0]' }]);
    expect(pathsOf({ ...base, run_ids: ['a', ''] })).toEqual(['run_ids[1]']);
  });

  it('only weights listed runs, with positive weights', () => {
    expect(pathsOf({ ...base, run_weights: { 'run-3': 1 } })).toEqual(['run_weights.run-3']);
    expect(pathsOf({ ...base, run_weights: { 'run-1': 0 } })).toEqual(['run_weights.run-1']);
  });

  it('checks the slug, status, quality and money', () => {
    expect(pathsOf({ ...base, outcome_type: 'Ticket Resolved' })).toEqual(['outcome_type']);
    expect(pathsOf({ ...base, status: 'done' })).toEqual(['status']);
    expect(pathsOf({ ...base, quality: 1.01 })).toEqual(['quality']);
    expect(pathsOf({ ...base, value_usd: '-5' })).toEqual(['value_usd']);
    expect(pathsOf({ ...base, baseline_cost_usd: '0.0000000001' })).toEqual(['baseline_cost_usd']);
  });

  it('rejects unknown fields and missing required ones by name', () => {
    expect(expectErrors(validateOutcome({ ...base, value: 5 }))).toEqual([{ path: 'value', message: 'is not a known field' }]);
    expect(pathsOf({ occurred_at: 1_738_315_800_000 })).toEqual(['outcome_type', 'outcome_id', 'run_ids', 'status']);
  });
});
