import { describe, expect, it } from 'vitest';
import { claimsFromEvents, joinOutcome, runFact } from './join.js';
import type { OutcomeRecord, RunClaim, UsageCall } from './model.js';

const TENANT = 'acme';

function call(overrides: Partial<UsageCall> & Pick<UsageCall, 'event_id'>): UsageCall {
  return {
    run_id: 'r1',
    occurred_at: 1_000,
    provider: 'openai',
    model: 'gpt-4o',
    workflow: '',
    step: '',
    attempt: 1,
    status: 'ok',
    cost_nano: 0n,
    input_tokens: 0,
    output_tokens: 0,
    cached_input_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    ...overrides,
  };
}

function outcomeEvent(overrides: Partial<OutcomeRecord> & Pick<OutcomeRecord, 'event_id'>): OutcomeRecord {
  return {
    outcome_id: 'o1',
    outcome_type: 'ticket_resolved',
    occurred_at: 10_000,
    status: 'accepted',
    run_ids: ['r1'],
    run_weights: null,
    value_nano: null,
    baseline_cost_nano: null,
    human_milliminutes: null,
    quality: null,
    tags: {},
    ...overrides,
  };
}

const usageOf = (...calls: UsageCall[]): Map<string, UsageCall[]> => {
  const byRun = new Map<string, UsageCall[]>();
  for (const c of calls) byRun.set(c.run_id, [...(byRun.get(c.run_id) ?? []), c]);
  return byRun;
};

/** Claims as a store derives them from every outcome's events. */
function claimsOf(...outcomes: OutcomeRecord[][]): Map<string, RunClaim[]> {
  const byRun = new Map<string, RunClaim[]>();
  for (const events of outcomes) {
    const outcomeId = events[0]?.outcome_id ?? '';
    for (const [runId, weight] of claimsFromEvents(events)) byRun.set(runId, [...(byRun.get(runId) ?? []), { outcome_id: outcomeId, weight }]);
  }
  return byRun;
}

const join = (events: OutcomeRecord[], usage: Map<string, UsageCall[]>, claims = claimsOf(events), rate: bigint | null = null) =>
  joinOutcome(TENANT, events, usage, claims, rate);

describe('claimsFromEvents', () => {
  it('claims the union of run_ids, weighted by the latest event (default 1)', () => {
    const claims = claimsFromEvents([
      outcomeEvent({ event_id: 'e2', occurred_at: 200, run_ids: ['r2'], run_weights: { r2: 2 } }),
      outcomeEvent({ event_id: 'e1', occurred_at: 100, run_ids: ['r1'], run_weights: { r1: 3 } }),
    ]);
    expect(claims).toEqual(new Map([['r1', 1], ['r2', 2]]));
  });
});

describe('joinOutcome: sharing a run', () => {
  const usage = usageOf(
    call({ event_id: 'c1', cost_nano: 60n, input_tokens: 7, output_tokens: 1, reasoning_tokens: 1 }),
    call({ event_id: 'c2', cost_nano: 20n, input_tokens: 2, cached_input_tokens: 5 }),
    call({ event_id: 'c3', cost_nano: 10n, output_tokens: 2, cache_write_tokens: 1 }),
    call({ event_id: 'c4', cost_nano: 10n, input_tokens: 1, step: 'x', attempt: 1, status: 'error' }),
  );
  const a = [outcomeEvent({ event_id: 'ea', outcome_id: 'a', run_weights: { r1: 2 } })];
  const b = [outcomeEvent({ event_id: 'eb', outcome_id: 'b' })];
  const claims = claimsOf(b, a);

  it('splits every aggregate 2:1 with exact largest remainders', () => {
    const factA = join(a, usage, claims);
    const factB = join(b, usage, claims);
    // cost 100 → 66.67 / 33.33 → 67 / 33; calls 4 → 2.67 / 1.33 → 3 / 1; retry tax 10 → 6.67 / 3.33 → 7 / 3
    expect([factA.cost_nano, factB.cost_nano]).toEqual([67n, 33n]);
    expect([factA.calls, factB.calls]).toEqual([3, 1]);
    expect([factA.retry_tax_nano, factB.retry_tax_nano]).toEqual([7n, 3n]);
    // input 10 → 7 / 3; output 3 → 2 / 1; cached 5 → 3.33 / 1.67 → 3 / 2; cache write 1 → 0.67 / 0.33 → 1 / 0; reasoning 1 → 1 / 0
    expect([factA.input_tokens, factB.input_tokens]).toEqual([7n, 3n]);
    expect([factA.output_tokens, factB.output_tokens]).toEqual([2n, 1n]);
    expect([factA.cached_input_tokens, factB.cached_input_tokens]).toEqual([3n, 2n]);
    expect([factA.cache_write_tokens, factB.cache_write_tokens]).toEqual([1n, 0n]);
    expect([factA.reasoning_tokens, factB.reasoning_tokens]).toEqual([1n, 0n]);
    // not split: the whole run's attempts, failures and models
    expect([factA.attempts, factA.failed_attempts, factB.attempts, factB.failed_attempts]).toEqual([1, 1, 1, 1]);
  });

  it('breaks equal remainders by outcome_id, not by argument order', () => {
    const odd = usageOf(call({ event_id: 'c1', cost_nano: 101n }));
    const z = [outcomeEvent({ event_id: 'ez', outcome_id: 'z' })];
    const y = [outcomeEvent({ event_id: 'ey', outcome_id: 'y' })];
    const evenClaims = claimsOf(z, y);
    expect(join(y, odd, evenClaims).cost_nano).toBe(51n);
    expect(join(z, odd, evenClaims).cost_nano).toBe(50n);
  });

  it('counts its own claim even when the claims lag behind its events', () => {
    const fact = join(a, usage, claimsOf(b));
    expect(fact.cost_nano).toBe(67n);
  });
});

describe('joinOutcome: waste', () => {
  it('charges failed calls and superseded attempts of the same step as retry tax', () => {
    const fact = join(
      [outcomeEvent({ event_id: 'e1' })],
      usageOf(
        call({ event_id: 'plan-1', step: 'plan', attempt: 1, status: 'error', cost_nano: 10n }),
        call({ event_id: 'plan-2', step: 'plan', attempt: 2, cost_nano: 20n }),
        call({ event_id: 'code-1', step: 'code', attempt: 1, cost_nano: 5n }),
        call({ event_id: 'review-1', step: 'review', attempt: 1, cost_nano: 7n }),
        call({ event_id: 'review-2', step: 'review', attempt: 2, cost_nano: 8n }),
      ),
    );
    expect(fact.cost_nano).toBe(50n);
    expect(fact.retry_tax_nano).toBe(17n); // plan-1 failed, review-1 superseded
    expect(fact.attempts).toBe(2);
    expect(fact.failed_attempts).toBe(1); // both wasted calls are attempt 1
    expect(fact.first_pass).toBe(false);
  });

  it('counts distinct failed attempt numbers per run, summed over runs', () => {
    const fact = join(
      [outcomeEvent({ event_id: 'e1', run_ids: ['r1', 'r2'] })],
      usageOf(
        call({ event_id: 'a1', attempt: 1, status: 'timeout', cost_nano: 1n }),
        call({ event_id: 'a2', attempt: 2, status: 'cancelled', cost_nano: 2n }),
        call({ event_id: 'a3', attempt: 3, cost_nano: 4n }),
        call({ event_id: 'b1', run_id: 'r2', attempt: 1, status: 'error', cost_nano: 8n }),
      ),
    );
    expect(fact.failed_attempts).toBe(3);
    expect(fact.attempts).toBe(3);
    expect(fact.retry_tax_nano).toBe(11n);
  });

  it('treats the calls with no step as one step', () => {
    const fact = join([outcomeEvent({ event_id: 'e1' })], usageOf(call({ event_id: 'x1', attempt: 1, cost_nano: 3n }), call({ event_id: 'x2', attempt: 2, cost_nano: 5n })));
    expect(fact.retry_tax_nano).toBe(3n);
  });
});

describe('joinOutcome: first pass', () => {
  const ok = usageOf(call({ event_id: 'c1' }), call({ event_id: 'c2', step: 'other' }));

  it('is an accepted outcome with one attempt and no waste', () => {
    expect(join([outcomeEvent({ event_id: 'e1' })], ok).first_pass).toBe(true);
  });

  it('is not a rejected outcome, a retried one, or one with a failed call', () => {
    expect(join([outcomeEvent({ event_id: 'e1', status: 'rejected' })], ok).first_pass).toBe(false);
    expect(join([outcomeEvent({ event_id: 'e1' })], usageOf(call({ event_id: 'c1', attempt: 2 }))).first_pass).toBe(false);
    expect(join([outcomeEvent({ event_id: 'e1' })], usageOf(call({ event_id: 'c1', status: 'error' }))).first_pass).toBe(false);
  });

  it('holds for an accepted outcome with no usage yet, with 0 attempts', () => {
    const fact = join([outcomeEvent({ event_id: 'e1' })], new Map());
    expect(fact).toMatchObject({ first_pass: true, attempts: 0, calls: 0, cost_nano: 0n, models: [], last_usage_at: null });
  });
});

describe('joinOutcome: events', () => {
  it('takes its state from the latest event and its first time from the earliest', () => {
    const fact = join(
      [
        outcomeEvent({ event_id: 'e3', occurred_at: 300, status: 'accepted', value_nano: 9n, quality: 0.9, tags: { round: '3' }, human_milliminutes: 3 }),
        outcomeEvent({ event_id: 'e1', occurred_at: 100, status: 'rejected', value_nano: 5n, baseline_cost_nano: 4n, outcome_type: 'draft' }),
        outcomeEvent({ event_id: 'e2', occurred_at: 200, status: 'reworked' }),
      ],
      new Map(),
    );
    expect(fact).toMatchObject({
      status: 'accepted',
      outcome_type: 'ticket_resolved',
      value_nano: 9n,
      baseline_cost_nano: null,
      quality: 0.9,
      tags: { round: '3' },
      human_milliminutes: 3,
      occurred_at: 300,
      first_occurred_at: 100,
      event_count: 3,
    });
  });

  it('breaks a tie in occurred_at by the greater event_id', () => {
    const events = [outcomeEvent({ event_id: 'b', status: 'rejected' }), outcomeEvent({ event_id: 'a', status: 'accepted' })];
    expect(join(events, new Map()).status).toBe('rejected');
    expect(join([...events].reverse(), new Map()).status).toBe('rejected');
  });

  it('joins the union of the runs of all its events', () => {
    const fact = join(
      [outcomeEvent({ event_id: 'e1', occurred_at: 1, run_ids: ['r2'] }), outcomeEvent({ event_id: 'e2', occurred_at: 2, run_ids: ['r1'] })],
      usageOf(call({ event_id: 'c1', cost_nano: 3n, model: 'b-model', occurred_at: 50 }), call({ event_id: 'c2', run_id: 'r2', cost_nano: 4n, model: 'a-model', occurred_at: 70 })),
    );
    expect(fact).toMatchObject({ run_ids: ['r1', 'r2'], cost_nano: 7n, calls: 2, models: ['a-model', 'b-model'], last_usage_at: 70 });
  });

  it('counts duplicate events and duplicate calls once', () => {
    const event = outcomeEvent({ event_id: 'e1' });
    const c = call({ event_id: 'c1', cost_nano: 5n, input_tokens: 3 });
    const fact = join([event, { ...event }], usageOf(c, { ...c }, { ...c }));
    expect(fact).toMatchObject({ event_count: 1, calls: 1, cost_nano: 5n, input_tokens: 3n });
  });

  it('refuses an outcome with no events', () => {
    expect(() => join([], new Map())).toThrow(RangeError);
  });
});

describe('joinOutcome: human cost and net value', () => {
  const usage = usageOf(call({ event_id: 'c1', cost_nano: 300n }));
  const RATE_60_USD_PER_HOUR = 60_000_000_000n;

  it('prices human minutes at the loaded rate, rounding half to even', () => {
    const cost = (milliminutes: number, rate: bigint) => join([outcomeEvent({ event_id: 'e1', human_milliminutes: milliminutes })], usage, undefined, rate).human_cost_nano;
    expect(cost(90_000, RATE_60_USD_PER_HOUR)).toBe(90_000_000_000n); // 90 minutes at 60 USD/h
    expect(cost(1, 30_000n)).toBe(0n); // 0.5 → 0
    expect(cost(3, 30_000n)).toBe(2n); // 1.5 → 2
    expect(cost(5, 30_000n)).toBe(2n); // 2.5 → 2
    expect(cost(1, 90_000n)).toBe(2n); // 1.5 → 2
  });

  it('has no human cost without a rate or without human minutes', () => {
    expect(join([outcomeEvent({ event_id: 'e1', human_milliminutes: 60_000 })], usage).human_cost_nano).toBeNull();
    expect(join([outcomeEvent({ event_id: 'e1' })], usage, undefined, RATE_60_USD_PER_HOUR).human_cost_nano).toBeNull();
  });

  it('nets value against token cost and human cost', () => {
    // 2 minutes at 6000 nano/h = 200 nano
    const withHuman = join([outcomeEvent({ event_id: 'e1', value_nano: 1_000n, human_milliminutes: 2_000 })], usage, undefined, 6_000n);
    expect(withHuman.net_value_nano).toBe(500n);
    expect(join([outcomeEvent({ event_id: 'e1', value_nano: 1_000n, human_milliminutes: 2_000 })], usage).net_value_nano).toBe(700n);
    expect(join([outcomeEvent({ event_id: 'e1', value_nano: 100n })], usage).net_value_nano).toBe(-200n);
    expect(join([outcomeEvent({ event_id: 'e1' })], usage, undefined, 6_000n).net_value_nano).toBeNull();
  });
});

describe('runFact', () => {
  it('sums a whole run, its calls counted once', () => {
    const c1 = call({ event_id: 'c1', occurred_at: 20, cost_nano: 4n, input_tokens: 10, model: 'm2', status: 'error' });
    const c2 = call({ event_id: 'c2', occurred_at: 10, cost_nano: 6n, output_tokens: 3, reasoning_tokens: 2, model: 'm1', attempt: 2 });
    expect(runFact(TENANT, 'r1', [c1, c2, { ...c1 }])).toEqual({
      tenant_id: TENANT,
      run_id: 'r1',
      calls: 2,
      cost_nano: 10n,
      retry_tax_nano: 4n,
      input_tokens: 10n,
      output_tokens: 3n,
      cached_input_tokens: 0n,
      cache_write_tokens: 0n,
      reasoning_tokens: 2n,
      models: ['m1', 'm2'],
      first_at: 10,
      last_at: 20,
    });
  });

  it('refuses a run without calls', () => {
    expect(() => runFact(TENANT, 'r1', [])).toThrow(RangeError);
  });
});

describe('joinOutcome: primary workflow and model', () => {
  it('is the pair its runs spent most on, over whole runs, ties to the greater workflow then model', () => {
    const events = [outcomeEvent({ event_id: 'e1', run_ids: ['r1', 'r2'] })];
    const usage = usageOf(
      call({ event_id: 'c1', run_id: 'r1', workflow: 'triage', model: 'small', cost_nano: 5n }),
      call({ event_id: 'c2', run_id: 'r2', workflow: 'triage', model: 'small', cost_nano: 5n }),
      call({ event_id: 'c3', run_id: 'r1', workflow: 'triage', model: 'large', cost_nano: 9n }),
      // A redelivered call counts once.
      call({ event_id: 'c3', run_id: 'r1', workflow: 'triage', model: 'large', cost_nano: 9n }),
    );
    expect(join(events, usage)).toEqual(expect.objectContaining({ primary_workflow: 'triage', primary_model: 'small' }));
    const tied = usageOf(
      call({ event_id: 'c1', run_id: 'r1', workflow: 'alpha', model: 'z', cost_nano: 7n }),
      call({ event_id: 'c2', run_id: 'r2', workflow: 'beta', model: 'a', cost_nano: 7n }),
      call({ event_id: 'c3', run_id: 'r2', workflow: 'beta', model: 'b', cost_nano: 7n }),
    );
    expect(join(events, tied)).toEqual(expect.objectContaining({ primary_workflow: 'beta', primary_model: 'b' }));
  });

  it('is empty without usage', () => {
    expect(join([outcomeEvent({ event_id: 'e1', run_ids: ['r9'] })], usageOf())).toEqual(expect.objectContaining({ primary_workflow: '', primary_model: '' }));
  });
});
