/**
 * What outcome facts add up to: unit economics, the marginal value of token spend and model-routing
 * candidates, as pure functions over sums that ClickHouse returns. Money is nano-USD in bigint
 * until it leaves as decimal text; ratios are numbers.
 *
 * Definitions (decisions; the api tests hold the endpoints to them):
 * - Every outcome in the group counts: rejected, reworked and abandoned ones too, with all their
 *   token cost (retries included). That is what an accepted outcome really costs.
 * - cost per accepted outcome = Σ token cost ÷ accepted (null without an accepted outcome).
 * - baseline cost per outcome = Σ baseline ÷ outcomes that report a baseline (null if none does).
 * - savings = Σ over outcomes with a baseline of (baseline − token cost − human cost); null if none.
 * - ROI = (Σ value − Σ token cost − Σ human cost) ÷ (Σ token cost + Σ human cost) over all outcomes,
 *   a missing value counting as 0 (an outcome that returned nothing still cost its tokens); null
 *   when no outcome in the group reports a value, or when the costs are 0.
 * - first-pass yield = first-pass outcomes ÷ outcomes; mean attempts = Σ attempts ÷ outcomes with usage.
 */
import { decimalToNanos, divideRoundHalfEven, nanosToDecimal } from '@tokenledger/schemas';

/** One group's sums over outcome_facts, as ClickHouse returns them: counts and money as text. */
export interface OutcomeSumsRow {
  outcomes: string;
  accepted: string;
  first_pass_outcomes: string;
  with_usage: string;
  attempts_sum: string;
  baseline_outcomes: string;
  valued_outcomes: string;
  token_cost: string;
  human_cost: string;
  retry_tax: string;
  baseline_sum: string;
  /** Token plus human cost of the outcomes that report a baseline. */
  baseline_outcomes_cost: string;
  value_sum: string;
}

/**
 * The SELECT list that produces an OutcomeSumsRow from outcome rows (rollup/outcome-hourly-sql.ts:
 * one per outcome when live, one per rolled-up group otherwise).
 */
export const outcomeSumsSql = `
  sum(o_outcomes) AS outcomes,
  sum(o_accepted) AS accepted,
  sum(o_first_pass) AS first_pass_outcomes,
  sum(o_with_usage) AS with_usage,
  sum(o_attempts) AS attempts_sum,
  sum(o_baseline_outcomes) AS baseline_outcomes,
  sum(o_valued) AS valued_outcomes,
  toString(sum(o_cost)) AS token_cost,
  toString(sum(o_human)) AS human_cost,
  toString(sum(o_tax)) AS retry_tax,
  toString(sum(o_baseline)) AS baseline_sum,
  toString(sum(o_baseline_cost)) AS baseline_outcomes_cost,
  toString(sum(o_value)) AS value_sum`;

export interface OutcomeSums {
  outcomes: number;
  accepted: number;
  firstPass: number;
  withUsage: number;
  attempts: number;
  baselineOutcomes: number;
  valuedOutcomes: number;
  cost: bigint;
  humanCost: bigint;
  retryTax: bigint;
  baseline: bigint;
  baselineOutcomesCost: bigint;
  value: bigint;
}

export function parseOutcomeSums(row: OutcomeSumsRow): OutcomeSums {
  return {
    outcomes: Number(row.outcomes),
    accepted: Number(row.accepted),
    firstPass: Number(row.first_pass_outcomes),
    withUsage: Number(row.with_usage),
    attempts: Number(row.attempts_sum),
    baselineOutcomes: Number(row.baseline_outcomes),
    valuedOutcomes: Number(row.valued_outcomes),
    cost: decimalToNanos(row.token_cost),
    humanCost: decimalToNanos(row.human_cost),
    retryTax: decimalToNanos(row.retry_tax),
    baseline: decimalToNanos(row.baseline_sum),
    baselineOutcomesCost: decimalToNanos(row.baseline_outcomes_cost),
    value: decimalToNanos(row.value_sum),
  };
}

type CountKey = 'outcomes' | 'accepted' | 'firstPass' | 'withUsage' | 'attempts' | 'baselineOutcomes' | 'valuedOutcomes';
type MoneyKey = Exclude<keyof OutcomeSums, CountKey>;

/** The sums of several groups: the totals. */
export function addOutcomeSums(list: readonly OutcomeSums[]): OutcomeSums {
  const count = (key: CountKey) => list.reduce((sum, s) => sum + s[key], 0);
  const money = (key: MoneyKey) => list.reduce((sum, s) => sum + s[key], 0n);
  return {
    outcomes: count('outcomes'), accepted: count('accepted'), firstPass: count('firstPass'), withUsage: count('withUsage'),
    attempts: count('attempts'), baselineOutcomes: count('baselineOutcomes'), valuedOutcomes: count('valuedOutcomes'),
    cost: money('cost'), humanCost: money('humanCost'), retryTax: money('retryTax'), baseline: money('baseline'),
    baselineOutcomesCost: money('baselineOutcomesCost'), value: money('value'),
  };
}

/** n ÷ d as a number, or null when d is 0. */
export function ratio(n: number | bigint, d: number | bigint): number | null {
  return Number(d) === 0 ? null : Number(n) / Number(d);
}

/** Money ÷ a positive count, rounded half-even to the nano-dollar. */
export function meanNanos(totalNano: bigint, count: number): bigint {
  return divideRoundHalfEven(totalNano, BigInt(count));
}

/** Money ÷ count as decimal text rounded half-even to the nano-dollar, or null for a count of 0. */
export function meanUsd(totalNano: bigint, count: number): string | null {
  return count === 0 ? null : nanosToDecimal(meanNanos(totalNano, count));
}

export interface UnitEconomics {
  outcomes: number;
  accepted: number;
  acceptance_rate: number | null;
  token_cost_usd: string;
  cost_per_accepted_outcome_usd: string | null;
  baseline_cost_per_outcome_usd: string | null;
  savings_usd: string | null;
  roi: number | null;
  first_pass_yield: number | null;
  retry_tax_usd: string;
  mean_attempts: number | null;
  human_cost_usd: string;
  value_usd: string | null;
}

export function unitEconomics(s: OutcomeSums): UnitEconomics {
  const spent = s.cost + s.humanCost;
  return {
    outcomes: s.outcomes,
    accepted: s.accepted,
    acceptance_rate: ratio(s.accepted, s.outcomes),
    token_cost_usd: nanosToDecimal(s.cost),
    cost_per_accepted_outcome_usd: meanUsd(s.cost, s.accepted),
    baseline_cost_per_outcome_usd: meanUsd(s.baseline, s.baselineOutcomes),
    savings_usd: s.baselineOutcomes === 0 ? null : nanosToDecimal(s.baseline - s.baselineOutcomesCost),
    roi: s.valuedOutcomes === 0 ? null : ratio(s.value - spent, spent),
    first_pass_yield: ratio(s.firstPass, s.outcomes),
    retry_tax_usd: nanosToDecimal(s.retryTax),
    mean_attempts: ratio(s.attempts, s.withUsage),
    human_cost_usd: nanosToDecimal(s.humanCost),
    value_usd: s.valuedOutcomes === 0 ? null : nanosToDecimal(s.value),
  };
}

/**
 * Ordinary least-squares slope of y on x, computed exactly in integers (nano-USD) and divided once:
 * (nΣxy − ΣxΣy) ÷ (nΣx² − (Σx)²). Null with fewer than two points or when every x is the same.
 */
export function leastSquaresSlope(points: readonly { x: bigint; y: bigint }[]): number | null {
  if (points.length < 2) return null;
  const n = BigInt(points.length);
  let sx = 0n, sy = 0n, sxy = 0n, sxx = 0n;
  for (const { x, y } of points) {
    sx += x;
    sy += y;
    sxy += x * y;
    sxx += x * x;
  }
  const numerator = n * sxy - sx * sy;
  const denominator = n * sxx - sx * sx;
  return denominator === 0n ? null : Number(numerator) / Number(denominator);
}

/** Outcomes of one workflow whose runs spent most on one model (see the waste route). */
export interface ModelOutcomes {
  workflow: string;
  model: string;
  outcomes: number;
  accepted: number;
  cost: bigint;
}

const RATE_EPSILON = 1e-9;

export interface RoutingThresholds {
  /** Both models need at least this many outcomes. */
  minOutcomes: number;
  /** The cheaper model may accept this much less often (a fraction) and still count as the same. */
  acceptanceTolerance: number;
}

export interface RoutingCandidate {
  workflow: string;
  current_model: string;
  candidate_model: string;
  current_acceptance_rate: number;
  candidate_acceptance_rate: number;
  current_mean_cost_usd: string;
  candidate_mean_cost_usd: string;
  current_outcomes: number;
  candidate_outcomes: number;
  money_at_stake_usd: string;
}

/**
 * Per workflow, its dominant model (most token cost; ties to the first name) against every model
 * with a lower mean cost per outcome that accepts at least as often, less the tolerance; both with
 * at least `minOutcomes` outcomes. Money at stake = (dominant mean − candidate mean) × dominant
 * outcomes, computed as one exact fraction and rounded half-even to the nano-dollar. Largest first.
 */
export function routingCandidates(stats: readonly ModelOutcomes[], t: RoutingThresholds): RoutingCandidate[] {
  const byWorkflow = new Map<string, ModelOutcomes[]>();
  for (const s of stats) byWorkflow.set(s.workflow, [...(byWorkflow.get(s.workflow) ?? []), s]);
  const found: { candidate: RoutingCandidate; stake: bigint }[] = [];
  for (const [workflow, models] of byWorkflow) {
    const ordered = [...models].sort((a, b) => (a.cost === b.cost ? (a.model < b.model ? -1 : a.model > b.model ? 1 : 0) : a.cost > b.cost ? -1 : 1));
    const current = ordered[0];
    if (!current || current.outcomes < t.minOutcomes) continue;
    const currentRate = current.accepted / current.outcomes;
    for (const other of ordered.slice(1)) {
      if (other.outcomes < t.minOutcomes) continue;
      const otherRate = other.accepted / other.outcomes;
      const cheaper = other.cost * BigInt(current.outcomes) < current.cost * BigInt(other.outcomes);
      // The boundary is in (0.78 ≥ 0.8 − 0.02), whatever binary floating point makes of it.
      if (!cheaper || otherRate < currentRate - t.acceptanceTolerance - RATE_EPSILON) continue;
      const stake = divideRoundHalfEven(current.cost * BigInt(other.outcomes) - other.cost * BigInt(current.outcomes), BigInt(other.outcomes));
      found.push({ stake, candidate: {
        workflow,
        current_model: current.model,
        candidate_model: other.model,
        current_acceptance_rate: currentRate,
        candidate_acceptance_rate: otherRate,
        current_mean_cost_usd: meanUsd(current.cost, current.outcomes) ?? '0',
        candidate_mean_cost_usd: meanUsd(other.cost, other.outcomes) ?? '0',
        current_outcomes: current.outcomes,
        candidate_outcomes: other.outcomes,
        money_at_stake_usd: nanosToDecimal(stake),
      } });
    }
  }
  const key = (c: RoutingCandidate) => `${c.workflow}\n${c.candidate_model}`;
  return found
    .sort((a, b) => (a.stake === b.stake ? (key(a.candidate) < key(b.candidate) ? -1 : 1) : a.stake > b.stake ? -1 : 1))
    .map(({ candidate }) => candidate);
}
