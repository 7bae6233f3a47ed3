import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recompute } from './engine.js';
import { claimsFromEvents, compareIds, distinctByEventId, joinOutcome, runFact } from './join.js';
import { MemoryJoinStore } from './memory-store.js';
import { tokenKinds, type OutcomeFact, type OutcomeRecord, type RunClaim, type RunFact, type UsageCall } from './model.js';

const TENANT = 'acme';

function call(overrides: Partial<UsageCall> & Pick<UsageCall, 'event_id' | 'run_id'>): UsageCall {
  return {
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

function outcomeEvent(overrides: Partial<OutcomeRecord> & Pick<OutcomeRecord, 'event_id' | 'outcome_id' | 'run_ids'>): OutcomeRecord {
  return {
    outcome_type: 'ticket_resolved',
    occurred_at: 10_000,
    status: 'accepted',
    run_weights: null,
    value_nano: null,
    baseline_cost_nano: null,
    human_milliminutes: null,
    quality: null,
    tags: {},
    ...overrides,
  };
}

type Arrival = { kind: 'usage'; call: UsageCall } | { kind: 'outcome'; event: OutcomeRecord };

/** Feeds arrivals one at a time, recomputing after each, and keeps the last fact of every outcome. */
async function joinIncrementally(arrivals: readonly Arrival[], rate: bigint | null, tenantId = TENANT) {
  const store = new MemoryJoinStore();
  const facts = new Map<string, OutcomeFact>();
  const reportedWithoutOutcome = new Set<string>();
  for (const arrival of arrivals) {
    const changes = arrival.kind === 'usage' ? store.addUsage(tenantId, arrival.call) : store.addOutcomeEvent(tenantId, arrival.event);
    const { outcomes, runsWithoutOutcome } = await recompute(store, changes, rate);
    for (const fact of outcomes) facts.set(fact.outcome_id, fact);
    for (const runId of runsWithoutOutcome) reportedWithoutOutcome.add(runId);
  }
  return { facts, reportedWithoutOutcome, store };
}

const groupBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> => {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
};

/** The reference: one pass over complete, de-duplicated data. */
function joinAtOnce(calls: readonly UsageCall[], events: readonly OutcomeRecord[], rate: bigint | null) {
  const usageByRun = groupBy(distinctByEventId(calls), (c) => c.run_id);
  const eventsByOutcome = groupBy(distinctByEventId(events), (e) => e.outcome_id);
  const claimsByRun = new Map<string, RunClaim[]>();
  for (const [outcomeId, outcomeEvents] of eventsByOutcome) {
    for (const [runId, weight] of claimsFromEvents(outcomeEvents)) {
      claimsByRun.set(runId, [...(claimsByRun.get(runId) ?? []), { outcome_id: outcomeId, weight }]);
    }
  }
  const facts = new Map([...eventsByOutcome].map(([outcomeId, outcomeEvents]) => [outcomeId, joinOutcome(TENANT, outcomeEvents, usageByRun, claimsByRun, rate)]));
  const unclaimedRuns = [...usageByRun.keys()].filter((runId) => !claimsByRun.has(runId)).sort(compareIds);
  return { facts, unclaimedRuns, usageByRun };
}

const sortedEntries = <V>(map: Map<string, V>): [string, V][] => [...map].sort(([a], [b]) => compareIds(a, b));

describe('recompute', () => {
  const shared = call({ event_id: 'c1', run_id: 'r1', cost_nano: 90n });

  it('joins usage that arrives after its outcome, and reports runs nobody claims', async () => {
    const store = new MemoryJoinStore();
    const first = await recompute(store, store.addOutcomeEvent(TENANT, outcomeEvent({ event_id: 'e1', outcome_id: 'a', run_ids: ['r1'] })), null);
    expect(first.outcomes).toMatchObject([{ outcome_id: 'a', cost_nano: 0n, calls: 0 }]);
    const later = await recompute(store, store.addUsage(TENANT, shared), null);
    expect(later).toMatchObject({ outcomes: [{ outcome_id: 'a', cost_nano: 90n, calls: 1 }], runsWithoutOutcome: [] });
    const orphan = await recompute(store, store.addUsage(TENANT, call({ event_id: 'c2', run_id: 'r9', cost_nano: 5n })), null);
    expect(orphan).toEqual({ outcomes: [], runsWithoutOutcome: ['r9'] });
  });

  it('rewrites the co-claimants of a run when a new outcome starts sharing it', async () => {
    const store = new MemoryJoinStore();
    store.addUsage(TENANT, shared);
    await recompute(store, store.addOutcomeEvent(TENANT, outcomeEvent({ event_id: 'e1', outcome_id: 'a', run_ids: ['r1'] })), null);
    const { outcomes } = await recompute(store, store.addOutcomeEvent(TENANT, outcomeEvent({ event_id: 'e2', outcome_id: 'b', run_ids: ['r1'], run_weights: { r1: 2 } })), null);
    expect(outcomes.map((fact) => [fact.outcome_id, fact.cost_nano])).toEqual([
      ['a', 30n],
      ['b', 60n],
    ]);
  });

  it('rewrites the co-claimants when an outcome changes its weight on a shared run', async () => {
    const store = new MemoryJoinStore();
    store.addUsage(TENANT, shared);
    store.addOutcomeEvent(TENANT, outcomeEvent({ event_id: 'e1', outcome_id: 'a', run_ids: ['r1'] }));
    store.addOutcomeEvent(TENANT, outcomeEvent({ event_id: 'e2', outcome_id: 'b', run_ids: ['r1'] }));
    const reweighted = outcomeEvent({ event_id: 'e3', outcome_id: 'b', run_ids: ['r1'], run_weights: { r1: 0.5 }, occurred_at: 20_000 });
    const { outcomes } = await recompute(store, store.addOutcomeEvent(TENANT, reweighted), null);
    expect(outcomes.map((fact) => [fact.outcome_id, fact.cost_nano])).toEqual([
      ['a', 60n],
      ['b', 30n],
    ]);
  });

  it('keeps tenants apart', async () => {
    const store = new MemoryJoinStore();
    store.addUsage('other', shared);
    const { outcomes } = await recompute(store, store.addOutcomeEvent(TENANT, outcomeEvent({ event_id: 'e1', outcome_id: 'a', run_ids: ['r1'] })), null);
    expect(outcomes).toMatchObject([{ tenant_id: TENANT, cost_nano: 0n }]);
    expect(await recompute(store, { tenantId: 'other', runIds: ['r1'], outcomeIds: [] }, null)).toEqual({ outcomes: [], runsWithoutOutcome: ['r1'] });
  });

  it('does nothing for no changes', async () => {
    expect(await recompute(new MemoryJoinStore(), { tenantId: TENANT, runIds: [], outcomeIds: [] }, null)).toEqual({ outcomes: [], runsWithoutOutcome: [] });
  });
});

// ---------------------------------------------------------------------------------------------
// The property of issue 5: a fleet joined incrementally, in any arrival order, with duplicates,
// ends with exactly the facts of a one-pass join over the complete data.

const PROPERTY_RUNS = 200;

const callSpec = fc.record({
  occurred_at: fc.integer({ min: 0, max: 100_000 }),
  provider: fc.constantFrom('openai', 'anthropic'),
  model: fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'claude-sonnet', 'claude-haiku'),
  workflow: fc.constantFrom('', 'triage', 'billing'),
  step: fc.constantFrom('', 'plan', 'code', 'review'),
  attempt: fc.integer({ min: 1, max: 3 }),
  status: fc.constantFrom('ok', 'ok', 'ok', 'error', 'timeout', 'cancelled'),
  cost_nano: fc.bigInt({ min: 0n, max: 50_000_000n }),
  input_tokens: fc.integer({ min: 0, max: 100_000 }),
  output_tokens: fc.integer({ min: 0, max: 10_000 }),
  cached_input_tokens: fc.integer({ min: 0, max: 50_000 }),
  cache_write_tokens: fc.integer({ min: 0, max: 5_000 }),
  reasoning_tokens: fc.integer({ min: 0, max: 5_000 }),
});

const eventSpec = fc.record({
  /** Which of the outcome's runs this event lists (by position, taken modulo). */
  runPicks: fc.uniqueArray(fc.nat({ max: 2 }), { minLength: 1, maxLength: 3 }),
  /** Few distinct times, so that ties broken by event_id happen. */
  occurred_at: fc.integer({ min: 0, max: 4 }),
  outcome_type: fc.constantFrom('ticket_resolved', 'pr_merged'),
  status: fc.constantFrom('accepted', 'rejected', 'reworked', 'escalated', 'abandoned'),
  weights: fc.option(fc.array(fc.constantFrom(0.5, 1, 1.5, 2, 3), { minLength: 3, maxLength: 3 })),
  value_nano: fc.option(fc.bigInt({ min: 0n, max: 10_000_000_000n })),
  baseline_cost_nano: fc.option(fc.bigInt({ min: 0n, max: 1_000_000_000n })),
  human_milliminutes: fc.option(fc.integer({ min: 0, max: 600_000 })),
  quality: fc.option(fc.constantFrom(0, 0.5, 0.75, 1)),
  tags: fc.dictionary(fc.constantFrom('team', 'queue'), fc.constantFrom('a', 'b')),
});

const outcomeSpec = fc.record({
  runs: fc.uniqueArray(fc.nat(), { minLength: 1, maxLength: 3 }),
  events: fc.array(eventSpec, { minLength: 1, maxLength: 3 }),
});

const fleetArb = fc
  .record({
    runs: fc.array(fc.array(callSpec, { minLength: 1, maxLength: 10 }), { minLength: 5, maxLength: 40 }),
    outcomes: fc.array(outcomeSpec, { minLength: 1, maxLength: 25 }),
    duplicateCalls: fc.array(fc.nat(), { maxLength: 15 }),
    duplicateEvents: fc.array(fc.nat(), { maxLength: 8 }),
    rate: fc.option(fc.bigInt({ min: 1n, max: 200_000_000_000n })),
  })
  .map(({ runs, outcomes, duplicateCalls, duplicateEvents, rate }) => {
    const calls = runs.flatMap((specs, r) => specs.map((spec, i): UsageCall => ({ ...spec, event_id: `run-${r}/call-${i}`, run_id: `run-${r}` })));
    const events = outcomes.flatMap((outcome, o) => {
      const runIds = [...new Set(outcome.runs.map((pick) => `run-${pick % runs.length}`))];
      return outcome.events.map((spec, e): OutcomeRecord => {
        const eventRuns = [...new Set(spec.runPicks.map((pick) => runIds[pick % runIds.length] ?? 'run-0'))];
        const weights = spec.weights;
        return {
          event_id: `outcome-${o}/event-${e}`,
          outcome_id: `outcome-${o}`,
          outcome_type: spec.outcome_type,
          occurred_at: spec.occurred_at,
          status: spec.status,
          run_ids: eventRuns,
          run_weights: weights === null ? null : Object.fromEntries(eventRuns.slice(0, 2).map((runId, i) => [runId, weights[i] ?? 1])),
          value_nano: spec.value_nano,
          baseline_cost_nano: spec.baseline_cost_nano,
          human_milliminutes: spec.human_milliminutes,
          quality: spec.quality,
          tags: spec.tags,
        };
      });
    });
    const arrivals: Arrival[] = [
      ...calls.map((c): Arrival => ({ kind: 'usage', call: c })),
      ...duplicateCalls.map((i): Arrival => ({ kind: 'usage', call: structuredClone(calls[i % calls.length] ?? calls[0]!) })),
      ...events.map((event): Arrival => ({ kind: 'outcome', event })),
      ...duplicateEvents.map((i): Arrival => ({ kind: 'outcome', event: structuredClone(events[i % events.length] ?? events[0]!) })),
    ];
    return { calls, events, arrivals, rate };
  })
  .chain((fleet) =>
    fc.record({
      fleet: fc.constant(fleet),
      order: fc.shuffledSubarray(fleet.arrivals, { minLength: fleet.arrivals.length, maxLength: fleet.arrivals.length }),
    }),
  );

const conservedKeys = ['calls', 'cost_nano', 'retry_tax_nano', ...tokenKinds] as const;
const sum = (facts: readonly (OutcomeFact | RunFact)[], key: (typeof conservedKeys)[number]): bigint =>
  facts.reduce((total, fact) => total + BigInt(fact[key]), 0n);

describe('outcome joiner, property (issue 5)', () => {
  it(`ends with the one-pass facts whatever the arrival order and duplicates (${PROPERTY_RUNS} fleets)`, async () => {
    await fc.assert(
      fc.asyncProperty(fleetArb, async ({ fleet, order }) => {
        const reference = joinAtOnce(fleet.calls, fleet.events, fleet.rate);
        const { facts, reportedWithoutOutcome } = await joinIncrementally(order, fleet.rate);
        expect(sortedEntries(facts)).toEqual(sortedEntries(reference.facts));

        // Every run nobody ever claims was reported as such when its usage arrived.
        for (const runId of reference.unclaimedRuns) expect(reportedWithoutOutcome.has(runId)).toBe(true);

        // Conservation: outcome shares plus unclaimed runs add up to the whole runs, exactly; and the
        // whole runs to every distinct call.
        const wholeRuns = [...reference.usageByRun].map(([runId, calls]) => runFact(TENANT, runId, calls));
        const unclaimed = wholeRuns.filter((run) => reference.unclaimedRuns.includes(run.run_id));
        const outcomeFacts = [...facts.values()];
        for (const key of conservedKeys) {
          expect(sum(outcomeFacts, key) + sum(unclaimed, key)).toBe(sum(wholeRuns, key));
        }
        const distinctCalls = distinctByEventId(fleet.calls);
        expect(sum(wholeRuns, 'cost_nano')).toBe(distinctCalls.reduce((total, c) => total + c.cost_nano, 0n));
        expect(sum(wholeRuns, 'calls')).toBe(BigInt(distinctCalls.length));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
