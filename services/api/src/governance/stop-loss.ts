/**
 * Stop-loss rules on unit economics over a trailing window, pure. A rule is evaluated over
 * [now − window_days, now) on sums ClickHouse returns; it trips when its measure crosses the
 * limit and holds (does not trip) when the window has too little data (fewer than min_outcomes
 * outcomes, or no spend for the share rules).
 *
 * Measures (the definitions of the unit-economics endpoint, over outcomes whose latest event is
 * in the window, plus runs declared spend with no outcome whose last call is in it):
 * - cost_per_accepted_outcome_above: Σ token cost of outcomes ÷ accepted > limit_usd. Spend with
 *   outcomes but none accepted trips (the cost per accepted outcome is unbounded).
 * - acceptance_rate_below: accepted ÷ outcomes < floor.
 * - retry_tax_share_above: (retry tax of outcomes + of no-outcome runs) ÷ (token cost of outcomes
 *   + cost of no-outcome runs) > share.
 * - no_outcome_share_above: cost of no-outcome runs ÷ (token cost of outcomes + cost of
 *   no-outcome runs) > share.
 * - token_cost_above_baseline: over outcomes that report a baseline, mean token cost > factor ×
 *   mean baseline cost (factor defaults to 1), i.e. Σ token cost > factor × Σ baseline.
 * Scope: `outcome_type` filters outcomes (no-outcome runs have no type: with an outcome_type the
 * share rules count outcomes only); `project` filters outcomes by their project tag and
 * no-outcome runs by their calls' allocated project.
 *
 * One alert per rule per window: the window an alert is unique in is the rule's window length
 * aligned to the epoch (UTC), [floor(now / w) × w, + w). The trailing evaluation slides; the
 * alert id does not, so a rule that trips, clears and trips again inside one bucket alerts once.
 */
import { decimalToNanos, divideRoundHalfEven, nanosToDecimal, type StopLossRule } from '@tokenledger/schemas';
import { DAY_MS } from './budget.js';

export interface WindowSums {
  outcomes: number;
  accepted: number;
  /** Token cost of the outcomes (nano-USD). */
  cost: bigint;
  retryTax: bigint;
  baselineOutcomes: number;
  baseline: bigint;
  /** Token cost of the outcomes that report a baseline. */
  baselineTokenCost: bigint;
  noOutcomeCost: bigint;
  noOutcomeRetryTax: bigint;
}

export const emptyWindowSums = (): WindowSums => ({
  outcomes: 0, accepted: 0, cost: 0n, retryTax: 0n, baselineOutcomes: 0, baseline: 0n, baselineTokenCost: 0n, noOutcomeCost: 0n, noOutcomeRetryTax: 0n,
});

export interface StopLossWindow {
  /** Trailing evaluation range. */
  from: number;
  to: number;
  /** The aligned bucket an alert is unique in. */
  bucketStart: number;
  bucketEnd: number;
}

export function stopLossWindow(rule: Pick<StopLossRule, 'window_days'>, now: number): StopLossWindow {
  const length = rule.window_days * DAY_MS;
  const bucketStart = Math.floor(now / length) * length;
  return { from: now - length, to: now, bucketStart, bucketEnd: bucketStart + length };
}

export interface Verdict {
  tripped: boolean;
  /** The measure (decimal text, ratios to 6 places) or null without enough data. */
  observed: string | null;
  threshold: string;
  message: string;
}

const ratioText = (n: number) => n.toFixed(6);

/** Exact-enough share comparison: a ÷ b > share, in floating point over nano-USD (b > 0). */
const shareOf = (a: bigint, b: bigint) => Number(a) / Number(b);

export function evaluateStopLoss(rule: StopLossRule, s: WindowSums): Verdict {
  const enough = s.outcomes >= rule.min_outcomes;
  const scope = [rule.scope.outcome_type, rule.scope.project].filter(Boolean).join('/') || 'all';
  const window = `${rule.window_days}d`;
  switch (rule.kind) {
    case 'cost_per_accepted_outcome_above': {
      const limit = decimalToNanos(rule.limit_usd ?? '0');
      const threshold = nanosToDecimal(limit);
      if (!enough || s.cost === 0n) return { tripped: false, observed: null, threshold, message: `not enough outcomes in ${window} (${scope})` };
      if (s.accepted === 0) return { tripped: true, observed: null, threshold, message: `${scope}: ${nanosToDecimal(s.cost)} USD spent in ${window} with no accepted outcome (limit ${threshold} per accepted outcome)` };
      // cost ÷ accepted > limit ⇔ cost > limit × accepted: exact.
      const tripped = s.cost > limit * BigInt(s.accepted);
      const observed = nanosToDecimal(divideRoundHalfEven(s.cost, BigInt(s.accepted)));
      return { tripped, observed, threshold, message: `${scope}: cost per accepted outcome ${observed} USD over ${window} ${tripped ? '>' : '≤'} ${threshold}` };
    }
    case 'acceptance_rate_below': {
      const floor = rule.floor ?? 0;
      const threshold = ratioText(floor);
      if (!enough) return { tripped: false, observed: null, threshold, message: `not enough outcomes in ${window} (${scope})` };
      const rate = s.accepted / s.outcomes;
      const tripped = rate < floor;
      return { tripped, observed: ratioText(rate), threshold, message: `${scope}: acceptance rate ${ratioText(rate)} over ${window} ${tripped ? '<' : '≥'} ${threshold}` };
    }
    case 'retry_tax_share_above':
    case 'no_outcome_share_above': {
      const share = rule.share ?? 0;
      const threshold = ratioText(share);
      const spend = s.cost + s.noOutcomeCost;
      const part = rule.kind === 'retry_tax_share_above' ? s.retryTax + s.noOutcomeRetryTax : s.noOutcomeCost;
      const what = rule.kind === 'retry_tax_share_above' ? 'retry tax' : 'spend with no outcome';
      if (spend === 0n) return { tripped: false, observed: null, threshold, message: `no spend in ${window} (${scope})` };
      const observed = shareOf(part, spend);
      const tripped = observed > share;
      return { tripped, observed: ratioText(observed), threshold, message: `${scope}: ${what} is ${ratioText(observed)} of spend over ${window} ${tripped ? '>' : '≤'} ${threshold}` };
    }
    case 'token_cost_above_baseline': {
      const factor = rule.factor ?? 1;
      const threshold = ratioText(factor);
      if (s.baselineOutcomes < rule.min_outcomes || s.baseline === 0n) {
        return { tripped: false, observed: null, threshold, message: `not enough outcomes with a baseline in ${window} (${scope})` };
      }
      const observed = shareOf(s.baselineTokenCost, s.baseline);
      const tripped = observed > factor;
      return { tripped, observed: ratioText(observed), threshold, message: `${scope}: token cost is ${ratioText(observed)} × the baseline cost over ${window} ${tripped ? '>' : '≤'} ${threshold}` };
    }
  }
}
