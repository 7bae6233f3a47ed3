/**
 * Budget envelopes, pure: the period a moment falls in, burn to date, burn rate, forecast to the
 * period's end, and whether a reservation fits. Money is nano-USD (bigint) until it leaves as
 * decimal text. No Kafka, HTTP or ClickHouse here.
 *
 * Decisions:
 * - Periods are calendar months or quarters in UTC, [start, end).
 * - Burn to date = Σ allocated cost of usage facts in the envelope (alloc.<scope> = key) with
 *   occurred_at in [period start, now).
 * - Burn rate: linear run-rate over the elapsed part of the period, burn ÷ elapsed, with elapsed
 *   taken as at least one day so the first hours of a period do not extrapolate one call into a
 *   month. Reported per day.
 * - Forecast = burn + rate × (period end − now), rounded half-even to the nano-dollar.
 * - warning: the forecast exceeds the amount, or burn reached warn_at_pct of it: said before the
 *   money is gone. over: burn ≥ amount.
 * - Remaining = amount − burn − reserved (active reservations); may be negative.
 * - A reservation fits when burn + reserved + estimate ≤ amount, in every envelope of its key.
 */
import { decimalToNanos, divideRoundHalfEven, nanosToDecimal, type Budget } from '@tokenledger/schemas';

export const DAY_MS = 86_400_000;

export interface Period {
  start: number;
  end: number;
}

/** The calendar month or quarter (UTC) that `at` falls in. */
export function periodOf(period: Budget['period'], at: number): Period {
  const d = new Date(at);
  const year = d.getUTCFullYear();
  const month = period === 'month' ? d.getUTCMonth() : Math.floor(d.getUTCMonth() / 3) * 3;
  const span = period === 'month' ? 1 : 3;
  return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + span, 1) };
}

export interface BudgetStatus {
  budget_id: string;
  scope: Budget['scope'];
  key: string;
  period: Budget['period'];
  period_start: string;
  period_end: string;
  value_owner: string;
  version: number;
  amount_usd: string;
  burn_usd: string;
  burn_rate_usd_per_day: string;
  forecast_usd: string;
  reserved_usd: string;
  remaining_usd: string;
  /** burn ÷ amount (null for a zero amount). */
  burn_share: number | null;
  warn_at_pct: number | null;
  warning: boolean;
  over: boolean;
}

export interface BudgetFigures {
  burnNano: bigint;
  reservedNano: bigint;
}

export function budgetStatus(id: string, budget: Budget, figures: BudgetFigures, now: number): BudgetStatus {
  const { start, end } = periodOf(budget.period, now);
  const amount = decimalToNanos(budget.amount_usd);
  const { burnNano: burn, reservedNano: reserved } = figures;
  const elapsed = BigInt(Math.max(DAY_MS, Math.min(now, end) - start));
  const left = BigInt(Math.max(0, end - now));
  const forecast = burn + divideRoundHalfEven(burn * left, elapsed);
  const warnLine = budget.warn_at_pct === undefined ? null : divideRoundHalfEven(amount * BigInt(Math.round(budget.warn_at_pct * 1_000)), 100_000n);
  return {
    budget_id: id,
    scope: budget.scope,
    key: budget.key,
    period: budget.period,
    period_start: new Date(start).toISOString(),
    period_end: new Date(end).toISOString(),
    value_owner: budget.value_owner,
    version: budget.version,
    amount_usd: nanosToDecimal(amount),
    burn_usd: nanosToDecimal(burn),
    burn_rate_usd_per_day: nanosToDecimal(divideRoundHalfEven(burn * BigInt(DAY_MS), elapsed)),
    forecast_usd: nanosToDecimal(forecast),
    reserved_usd: nanosToDecimal(reserved),
    remaining_usd: nanosToDecimal(amount - burn - reserved),
    burn_share: amount === 0n ? null : Number(burn) / Number(amount),
    warn_at_pct: budget.warn_at_pct ?? null,
    warning: forecast > amount || (warnLine !== null && burn >= warnLine),
    over: burn >= amount,
  };
}

/** Whether an estimate fits the envelope now: burn + reserved + estimate ≤ amount. */
export function reservationFits(budget: Budget, figures: BudgetFigures, estimateNano: bigint): boolean {
  return figures.burnNano + figures.reservedNano + estimateNano <= decimalToNanos(budget.amount_usd);
}
