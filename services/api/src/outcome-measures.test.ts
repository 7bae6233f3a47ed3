import { describe, expect, it } from 'vitest';
import { csvField, csvRecord } from './focus.js';
import { addOutcomeSums, leastSquaresSlope, routingCandidates, unitEconomics, type ModelOutcomes, type OutcomeSums } from './outcome-measures.js';

const sums = (over: Partial<OutcomeSums> = {}): OutcomeSums => ({
  outcomes: 4, accepted: 2, firstPass: 1, withUsage: 3, attempts: 5, baselineOutcomes: 2, valuedOutcomes: 2,
  cost: 3_000_000_000n, humanCost: 1_000_000_000n, retryTax: 500_000_000n, baseline: 10_000_000_000n, baselineOutcomesCost: 2_500_000_000n, value: 8_000_000_000n,
  ...over,
});

describe('unitEconomics', () => {
  it('charges every outcome to the accepted ones and nets value against token and human cost', () => {
    expect(unitEconomics(sums())).toEqual({
      outcomes: 4, accepted: 2, acceptance_rate: 0.5, token_cost_usd: '3', cost_per_accepted_outcome_usd: '1.5',
      baseline_cost_per_outcome_usd: '5', savings_usd: '7.5', roi: 1, first_pass_yield: 0.25, retry_tax_usd: '0.5',
      mean_attempts: 5 / 3, human_cost_usd: '1', value_usd: '8',
    });
  });

  it('answers null where a measure is undefined rather than 0', () => {
    const none = unitEconomics(sums({ accepted: 0, baselineOutcomes: 0, baseline: 0n, valuedOutcomes: 0, value: 0n, withUsage: 0, attempts: 0 }));
    expect(none).toMatchObject({ cost_per_accepted_outcome_usd: null, baseline_cost_per_outcome_usd: null, savings_usd: null, roi: null, mean_attempts: null, value_usd: null });
    expect(unitEconomics(sums({ cost: 0n, humanCost: 0n })).roi).toBeNull();
  });

  it('rounds means half to even at the nano-dollar', () => {
    expect(unitEconomics(sums({ cost: 5n, accepted: 2 })).cost_per_accepted_outcome_usd).toBe('0.000000002');
    expect(unitEconomics(sums({ cost: 7n, accepted: 2 })).cost_per_accepted_outcome_usd).toBe('0.000000004');
  });

  it('adds groups into totals', () => {
    const total = addOutcomeSums([sums(), sums({ cost: 1n, outcomes: 1 })]);
    expect(total).toMatchObject({ outcomes: 5, accepted: 4, cost: 3_000_000_001n, value: 16_000_000_000n });
  });
});

describe('leastSquaresSlope', () => {
  it('is exact on a line and null when x never varies', () => {
    expect(leastSquaresSlope([{ x: 1n, y: 3n }, { x: 2n, y: 5n }, { x: 4n, y: 9n }])).toBe(2);
    expect(leastSquaresSlope([{ x: 2n, y: 3n }, { x: 2n, y: 5n }])).toBeNull();
    expect(leastSquaresSlope([{ x: 2n, y: 3n }])).toBeNull();
  });
});

describe('routingCandidates', () => {
  const model = (model: string, outcomes: number, accepted: number, cost: bigint): ModelOutcomes => ({ workflow: 'w', model, outcomes, accepted, cost });
  const thresholds = { minOutcomes: 5, acceptanceTolerance: 0.02 };

  it('compares the model with most spend to cheaper ones that accept as often, with the money at stake', () => {
    const found = routingCandidates([model('big', 10, 8, 10_000n), model('small', 5, 4, 1_000n), model('poor', 6, 2, 600n), model('few', 4, 4, 100n)], thresholds);
    expect(found).toEqual([{
      workflow: 'w', current_model: 'big', candidate_model: 'small', current_acceptance_rate: 0.8, candidate_acceptance_rate: 0.8,
      current_mean_cost_usd: '0.000001', candidate_mean_cost_usd: '0.0000002', current_outcomes: 10, candidate_outcomes: 5,
      money_at_stake_usd: '0.000008',
    }]);
  });

  it('allows the tolerance and no more', () => {
    expect(routingCandidates([model('big', 100, 80, 10_000n), model('small', 100, 78, 1_000n)], thresholds)).toHaveLength(1);
    expect(routingCandidates([model('big', 100, 80, 10_000n), model('small', 100, 77, 1_000n)], thresholds)).toHaveLength(0);
  });
});

describe('CSV (RFC 4180)', () => {
  it('quotes fields with commas, quotes or line breaks, doubling quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvRecord(['a', 'b,c', ''])).toBe('a,"b,c",\r\n');
  });
});
