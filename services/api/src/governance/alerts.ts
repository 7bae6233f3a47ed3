/**
 * Alert decisions, pure: from each rule's condition now and the last alert sent for it, which
 * alerts to send. A rule alerts when it trips (no alert yet, or its last one a clear) and when it
 * clears (its last alert a trip). The alert id is derived (see alertId): the same rule, version,
 * window and transition give the same id, and an id already sent is never sent again, so there
 * is at most one alert per rule, window and transition, across restarts and replays.
 *
 * Budgets are rules too: `budget:<id>:forecast` trips on the warning (forecast over the amount, or
 * burn past warn_at_pct) and `budget:<id>:exceeded` when burn reaches the amount; their window is
 * the budget period, so a new period that starts under the line clears them.
 *
 * A rule that is deleted while tripped sends no clear (there is nothing left to evaluate).
 */
import { alertId, type AlertEvent, type AlertTransition, type Budget, type StopLossRule } from '@tokenledger/schemas';
import type { BudgetStatus } from './budget.js';
import type { StopLossWindow, Verdict } from './stop-loss.js';

export interface RuleCondition {
  ruleId: string;
  ruleKind: string;
  ruleVersion: number;
  windowStart: number;
  windowEnd: number;
  tripped: boolean;
  observed: string | null;
  threshold: string | null;
  message: string;
}

export function stopLossCondition(ruleId: string, rule: StopLossRule, window: StopLossWindow, verdict: Verdict): RuleCondition {
  return {
    ruleId, ruleKind: rule.kind, ruleVersion: rule.version, windowStart: window.bucketStart, windowEnd: window.bucketEnd,
    tripped: verdict.tripped, observed: verdict.observed, threshold: verdict.threshold, message: verdict.message,
  };
}

export function budgetConditions(budget: Budget, status: BudgetStatus): RuleCondition[] {
  const window = { windowStart: Date.parse(status.period_start), windowEnd: Date.parse(status.period_end), ruleVersion: budget.version };
  const name = `${budget.scope} ${budget.key} (${budget.period} from ${status.period_start.slice(0, 10)}, owner ${budget.value_owner})`;
  return [
    {
      ...window, ruleId: `budget:${status.budget_id}:forecast`, ruleKind: 'budget_forecast', tripped: status.warning,
      observed: status.forecast_usd, threshold: status.amount_usd,
      message: `${name}: burn ${status.burn_usd} USD, forecast ${status.forecast_usd} USD against ${status.amount_usd} USD`,
    },
    {
      ...window, ruleId: `budget:${status.budget_id}:exceeded`, ruleKind: 'budget_exceeded', tripped: status.over,
      observed: status.burn_usd, threshold: status.amount_usd,
      message: `${name}: burn ${status.burn_usd} USD ${status.over ? 'reached' : 'is under'} ${status.amount_usd} USD`,
    },
  ];
}

/**
 * The alerts to send now. `last` is each rule's latest alert transition; `sent` the ids already
 * recorded (an id in it is never decided again).
 */
export function decideAlerts(
  tenantId: string, conditions: readonly RuleCondition[], last: ReadonlyMap<string, AlertTransition>, sent: ReadonlySet<string>, now: number,
): AlertEvent[] {
  const alerts: AlertEvent[] = [];
  for (const c of conditions) {
    const previous = last.get(c.ruleId) ?? 'clear';
    const transition: AlertTransition | null = c.tripped && previous === 'clear' ? 'trip' : !c.tripped && previous === 'trip' ? 'clear' : null;
    if (!transition) continue;
    const id = alertId({ tenantId, ruleId: c.ruleId, ruleVersion: c.ruleVersion, windowStart: c.windowStart, transition });
    if (sent.has(id)) continue;
    alerts.push({
      alert_id: id, tenant_id: tenantId, rule_id: c.ruleId, rule_kind: c.ruleKind, rule_version: c.ruleVersion, transition,
      window_start: c.windowStart, window_end: c.windowEnd, observed: c.observed, threshold: c.threshold,
      message: `${transition === 'trip' ? 'tripped' : 'cleared'}: ${c.message}`, created_at: now,
    });
  }
  return alerts;
}
