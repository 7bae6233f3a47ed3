/**
 * The join of usage to outcomes, as pure functions over plain data.
 *
 * Rules (decisions; the property test holds the incremental engine to them):
 * - Duplicates: a usage call or an outcome event counts once per event_id. Duplicates are
 *   redeliveries of the same event; which version the store keeps is the store's business (here,
 *   the last one in the given array).
 * - An outcome's current state (status, type, value, baseline, human minutes, quality, tags, run
 *   weights) is its LATEST event by (occurred_at, then event_id). Its runs are the UNION of run_ids
 *   over all its events: a rework may add a run, and no later event takes one away.
 * - Claims: outcome O claims each of its runs R with weight = O's latest event's run_weights[R] if
 *   present, else 1. A run claimed by several outcomes has each of its aggregates (calls, cost,
 *   retry tax, each token kind) split among them by weight, exactly: largest remainder on the
 *   smallest unit, outcomes in outcome_id order, so the shares sum to the run's total.
 * - Waste: a call is wasted if its status is not 'ok', or if its attempt is lower than the highest
 *   attempt among the calls of the same (run, step) (the step '' groups the calls that name none).
 *   retry tax = Σ cost of wasted calls.
 * - attempts = highest attempt over the outcome's runs (0 without usage); failed_attempts = Σ over
 *   its runs of the distinct attempt numbers in the run that contain a wasted call; first_pass =
 *   accepted, attempts ≤ 1 and no wasted call (an accepted outcome without usage is first-pass).
 *   These, models and last_usage_at describe the whole runs and are not split.
 * - Human cost = round_half_even(human_milliminutes × rate ÷ 60_000) with the rate in nano-USD per
 *   hour; net value = value − cost − (human cost, or 0); null without a value.
 */
import { tokenKinds, type OutcomeFact, type OutcomeRecord, type RunClaim, type RunFact, type TokenTotals, type UsageCall } from './model.js';
import { divideRoundHalfEven, splitExactly } from '@tokenledger/schemas';

const MILLIMINUTES_PER_HOUR = 60_000n;
const DEFAULT_WEIGHT = 1;

/** The aggregates of a run that are split among the outcomes claiming it. */
const splitKeys = ['calls', 'cost_nano', 'retry_tax_nano', ...tokenKinds] as const;
type SplitTotals = Record<(typeof splitKeys)[number], bigint>;

/** A run's calls, summed: what is split, and what describes the whole run. */
interface RunTotals extends SplitTotals {
  maxAttempt: number;
  failedAttempts: number;
  hasWaste: boolean;
  models: Set<string>;
  /** Cost by workflow, then model. */
  spendByPair: Map<string, Map<string, bigint>>;
  firstAt: number | null;
  lastAt: number | null;
}

/** Code-unit order: the same on every machine and locale. */
export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One per event_id; a later duplicate in the array replaces an earlier one. */
export function distinctByEventId<T extends { event_id: string }>(items: readonly T[]): T[] {
  return [...new Map(items.map((item) => [item.event_id, item])).values()];
}

/** Distinct events, oldest first by (occurred_at, event_id); the last is the outcome's current state. */
function eventsInOrder(events: readonly OutcomeRecord[]): OutcomeRecord[] {
  return distinctByEventId(events).sort((a, b) => a.occurred_at - b.occurred_at || compareIds(a.event_id, b.event_id));
}

/**
 * The runs an outcome claims, with its weight on each: the union of run_ids over its events,
 * weighted by the latest event's run_weights (default 1). Stores derive their claims with this.
 */
export function claimsFromEvents(events: readonly OutcomeRecord[]): Map<string, number> {
  const ordered = eventsInOrder(events);
  const weights = ordered.at(-1)?.run_weights ?? {};
  const claims = new Map<string, number>();
  for (const event of ordered) {
    for (const runId of event.run_ids) claims.set(runId, weights[runId] ?? DEFAULT_WEIGHT);
  }
  return claims;
}

function runTotals(calls: readonly UsageCall[]): RunTotals {
  const distinct = distinctByEventId(calls);
  const maxAttemptOfStep = new Map<string, number>();
  for (const call of distinct) maxAttemptOfStep.set(call.step, Math.max(maxAttemptOfStep.get(call.step) ?? 0, call.attempt));

  const totals: RunTotals = {
    ...zeroSplit(),
    calls: BigInt(distinct.length),
    maxAttempt: 0,
    failedAttempts: 0,
    hasWaste: false,
    models: new Set(),
    spendByPair: new Map(),
    firstAt: null,
    lastAt: null,
  };
  const failedAttemptNumbers = new Set<number>();
  for (const call of distinct) {
    const wasted = call.status !== 'ok' || call.attempt < (maxAttemptOfStep.get(call.step) ?? call.attempt);
    totals.cost_nano += call.cost_nano;
    if (wasted) {
      totals.retry_tax_nano += call.cost_nano;
      failedAttemptNumbers.add(call.attempt);
    }
    for (const kind of tokenKinds) totals[kind] += BigInt(call[kind]);
    totals.maxAttempt = Math.max(totals.maxAttempt, call.attempt);
    totals.models.add(call.model);
    const byModel = totals.spendByPair.get(call.workflow) ?? new Map<string, bigint>();
    byModel.set(call.model, (byModel.get(call.model) ?? 0n) + call.cost_nano);
    totals.spendByPair.set(call.workflow, byModel);
    totals.firstAt = Math.min(totals.firstAt ?? call.occurred_at, call.occurred_at);
    totals.lastAt = Math.max(totals.lastAt ?? call.occurred_at, call.occurred_at);
  }
  totals.failedAttempts = failedAttemptNumbers.size;
  totals.hasWaste = failedAttemptNumbers.size > 0;
  return totals;
}

/** Byte order of the UTF-8 text, as ClickHouse compares strings. */
const compareBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The (workflow, model) with the most spend over several runs' pair spends; ties to the greater
 * workflow, then the greater model (byte order), as the api's former live join chose
 * (argMax over (spent, workflow, model)). '' and '' without any.
 */
export function primaryPair(runs: readonly Map<string, Map<string, bigint>>[]): { workflow: string; model: string } {
  const spend = new Map<string, Map<string, bigint>>();
  for (const run of runs) {
    for (const [workflow, byModel] of run) {
      const into = spend.get(workflow) ?? new Map<string, bigint>();
      for (const [model, nanos] of byModel) into.set(model, (into.get(model) ?? 0n) + nanos);
      spend.set(workflow, into);
    }
  }
  let best: { workflow: string; model: string; spent: bigint } | null = null;
  for (const [workflow, byModel] of spend) {
    for (const [model, spent] of byModel) {
      const better = best === null || spent > best.spent
        || (spent === best.spent && (compareBytes(workflow, best.workflow) || compareBytes(model, best.model)) > 0);
      if (better) best = { workflow, model, spent };
    }
  }
  return { workflow: best?.workflow ?? '', model: best?.model ?? '' };
}

function tokenTotals(totals: SplitTotals): TokenTotals {
  return {
    input_tokens: totals.input_tokens,
    output_tokens: totals.output_tokens,
    cached_input_tokens: totals.cached_input_tokens,
    cache_write_tokens: totals.cache_write_tokens,
    reasoning_tokens: totals.reasoning_tokens,
  };
}

/**
 * The weights of every outcome claiming a run, in outcome_id order, and the position of `outcomeId`
 * among them. The outcome's own claim (from its events) is authoritative for itself, so a store
 * that lags behind its events cannot drop or misweigh it.
 */
function claimants(claims: readonly RunClaim[], outcomeId: string, ownWeight: number): { weights: number[]; index: number } {
  const weightOf = new Map(claims.map((claim) => [claim.outcome_id, claim.weight]));
  weightOf.set(outcomeId, ownWeight);
  const ids = [...weightOf.keys()].sort(compareIds);
  return { weights: ids.map((id) => weightOf.get(id) ?? DEFAULT_WEIGHT), index: ids.indexOf(outcomeId) };
}

function zeroSplit(): SplitTotals {
  return { calls: 0n, cost_nano: 0n, retry_tax_nano: 0n, input_tokens: 0n, output_tokens: 0n, cached_input_tokens: 0n, cache_write_tokens: 0n, reasoning_tokens: 0n };
}

/** The share at `index` of each of a run's split aggregates. */
function share(totals: SplitTotals, weights: readonly number[], index: number): SplitTotals {
  const part = zeroSplit();
  for (const key of splitKeys) part[key] = splitExactly(totals[key], weights)[index] ?? 0n;
  return part;
}

/**
 * The fact of one outcome from all its events, the calls of its runs and every claim on its runs.
 * `claimsByRun.get(R)` lists all outcomes claiming R (this one included; it is added if missing).
 * A run missing from `usageByRun` has no usage yet.
 */
export function joinOutcome(
  tenantId: string,
  events: OutcomeRecord[],
  usageByRun: ReadonlyMap<string, UsageCall[]>,
  claimsByRun: ReadonlyMap<string, RunClaim[]>,
  humanRateNanoPerHour: bigint | null,
): OutcomeFact {
  const ordered = eventsInOrder(events);
  const first = ordered[0];
  const latest = ordered.at(-1);
  if (!first || !latest) throw new RangeError('an outcome needs at least one event');
  const outcomeId = latest.outcome_id;
  const ownClaims = claimsFromEvents(ordered);
  const runIds = [...ownClaims.keys()].sort(compareIds);

  const sum = zeroSplit();
  let attempts = 0;
  let failedAttempts = 0;
  let hasWaste = false;
  const models = new Set<string>();
  let lastUsageAt: number | null = null;
  const pairSpends: Map<string, Map<string, bigint>>[] = [];
  for (const runId of runIds) {
    const run = runTotals(usageByRun.get(runId) ?? []);
    pairSpends.push(run.spendByPair);
    const { weights, index } = claimants(claimsByRun.get(runId) ?? [], outcomeId, ownClaims.get(runId) ?? DEFAULT_WEIGHT);
    const part = share(run, weights, index);
    for (const key of splitKeys) sum[key] += part[key];
    attempts = Math.max(attempts, run.maxAttempt);
    failedAttempts += run.failedAttempts;
    hasWaste ||= run.hasWaste;
    for (const model of run.models) models.add(model);
    if (run.lastAt !== null) lastUsageAt = Math.max(lastUsageAt ?? run.lastAt, run.lastAt);
  }

  const primary = primaryPair(pairSpends);
  const humanCostNano =
    humanRateNanoPerHour !== null && latest.human_milliminutes !== null
      ? divideRoundHalfEven(BigInt(latest.human_milliminutes) * humanRateNanoPerHour, MILLIMINUTES_PER_HOUR)
      : null;
  return {
    tenant_id: tenantId,
    outcome_id: outcomeId,
    outcome_type: latest.outcome_type,
    status: latest.status,
    occurred_at: latest.occurred_at,
    first_occurred_at: first.occurred_at,
    event_count: ordered.length,
    run_ids: runIds,
    calls: Number(sum.calls),
    attempts,
    failed_attempts: failedAttempts,
    first_pass: latest.status === 'accepted' && attempts <= 1 && !hasWaste,
    ...tokenTotals(sum),
    cost_nano: sum.cost_nano,
    retry_tax_nano: sum.retry_tax_nano,
    models: [...models].sort(compareIds),
    primary_workflow: primary.workflow,
    primary_model: primary.model,
    human_milliminutes: latest.human_milliminutes,
    human_cost_nano: humanCostNano,
    baseline_cost_nano: latest.baseline_cost_nano,
    value_nano: latest.value_nano,
    net_value_nano: latest.value_nano === null ? null : latest.value_nano - sum.cost_nano - (humanCostNano ?? 0n),
    quality: latest.quality,
    tags: latest.tags,
    last_usage_at: lastUsageAt,
  };
}

/** A run's whole spend (its calls counted once per event_id), for runs that no outcome claims. */
export function runFact(tenantId: string, runId: string, calls: UsageCall[]): RunFact {
  const run = runTotals(calls);
  if (run.firstAt === null || run.lastAt === null) throw new RangeError('a run fact needs at least one call');
  return {
    tenant_id: tenantId,
    run_id: runId,
    calls: Number(run.calls),
    cost_nano: run.cost_nano,
    retry_tax_nano: run.retry_tax_nano,
    ...tokenTotals(run),
    models: [...run.models].sort(compareIds),
    first_at: run.firstAt,
    last_at: run.lastAt,
  };
}
