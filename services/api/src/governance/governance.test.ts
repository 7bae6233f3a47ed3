import { describe, expect, it } from 'vitest';
import { alertId, type Budget, type StopLossRule } from '@tokenledger/schemas';
import { budgetConditions, decideAlerts, stopLossCondition } from './alerts.js';
import { budgetStatus, DAY_MS, periodOf, reservationFits } from './budget.js';
import { KeyedMutex } from './keyed-mutex.js';
import { emptyWindowSums, evaluateStopLoss, stopLossWindow, type WindowSums } from './stop-loss.js';
import { retryDelayMs, signBody, verifySignature, webhookWants } from './webhook.js';

const NANO = 1_000_000_000n;
const budget = (over: Partial<Budget> = {}): Budget => ({
  scope: 'project', key: 'search', period: 'month', amount_usd: '300', value_owner: 'ana', version: 3, ...over,
});

describe('budget periods and forecast', () => {
  it('finds calendar months and quarters in UTC', () => {
    expect(periodOf('month', Date.UTC(2026, 10, 22, 16))).toEqual({ start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
    expect(periodOf('quarter', Date.UTC(2026, 10, 22))).toEqual({ start: Date.UTC(2026, 9, 1), end: Date.UTC(2027, 0, 1) });
    expect(periodOf('quarter', Date.UTC(2026, 0, 1))).toEqual({ start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 3, 1) });
  });

  it('forecasts by linear run-rate over the elapsed period, exactly', () => {
    // November has 30 days; 10 days elapsed, 100 USD burnt: 10 USD/day, forecast 300.
    const now = Date.UTC(2026, 10, 11);
    const s = budgetStatus('b', budget(), { burnNano: 100n * NANO, reservedNano: 5n * NANO }, now);
    expect(s).toMatchObject({ burn_usd: '100', burn_rate_usd_per_day: '10', forecast_usd: '300', reserved_usd: '5', remaining_usd: '195', warning: false, over: false });
    // One nano-dollar more burnt: the forecast passes the amount, a warning before the money is gone.
    const warned = budgetStatus('b', budget(), { burnNano: 100n * NANO + 1n, reservedNano: 0n }, now);
    expect(warned.warning).toBe(true);
    expect(warned.over).toBe(false);
    expect(warned.forecast_usd).toBe('300.000000003');
  });

  it('warns at warn_at_pct, is over at the amount, and takes at least one day as elapsed', () => {
    const now = Date.UTC(2026, 10, 1, 6); // six hours in
    const early = budgetStatus('b', budget(), { burnNano: 5n * NANO, reservedNano: 0n }, now);
    expect(early.burn_rate_usd_per_day).toBe('5');
    expect(early.warning).toBe(false);
    const pct = budgetStatus('b', budget({ warn_at_pct: 50 }), { burnNano: 150n * NANO, reservedNano: 0n }, Date.UTC(2026, 10, 29));
    expect(pct.warning).toBe(true);
    const over = budgetStatus('b', budget(), { burnNano: 300n * NANO, reservedNano: 0n }, Date.UTC(2026, 10, 29));
    expect(over).toMatchObject({ over: true, remaining_usd: '0' });
  });

  it('fits a reservation only when burn + reserved + estimate stays within the amount', () => {
    const b = budget({ amount_usd: '10' });
    expect(reservationFits(b, { burnNano: 6n * NANO, reservedNano: 2n * NANO }, 2n * NANO)).toBe(true);
    expect(reservationFits(b, { burnNano: 6n * NANO, reservedNano: 2n * NANO }, 2n * NANO + 1n)).toBe(false);
  });
});

const rule = (over: Partial<StopLossRule>): StopLossRule => ({ kind: 'acceptance_rate_below', scope: {}, window_days: 7, min_outcomes: 1, version: 1, ...over });
const sums = (over: Partial<WindowSums>): WindowSums => ({ ...emptyWindowSums(), ...over });

describe('stop-loss rules trip and clear', () => {
  it('cost per accepted outcome above a limit (exact), and with no accepted outcome at all', () => {
    const r = rule({ kind: 'cost_per_accepted_outcome_above', limit_usd: '2' });
    expect(evaluateStopLoss(r, sums({ outcomes: 4, accepted: 2, cost: 4n * NANO })).tripped).toBe(false);
    expect(evaluateStopLoss(r, sums({ outcomes: 4, accepted: 2, cost: 4n * NANO + 1n })).tripped).toBe(true);
    expect(evaluateStopLoss(r, sums({ outcomes: 4, accepted: 0, cost: 1n })).tripped).toBe(true);
    expect(evaluateStopLoss(r, sums({})).tripped).toBe(false);
  });

  it('acceptance rate below a floor, holding without enough outcomes', () => {
    const r = rule({ kind: 'acceptance_rate_below', floor: 0.5, min_outcomes: 4 });
    expect(evaluateStopLoss(r, sums({ outcomes: 4, accepted: 1 })).tripped).toBe(true);
    expect(evaluateStopLoss(r, sums({ outcomes: 4, accepted: 2 })).tripped).toBe(false);
    expect(evaluateStopLoss(r, sums({ outcomes: 3, accepted: 0 })).tripped).toBe(false);
  });

  it('retry tax share and no-outcome share of all spend', () => {
    const retry = rule({ kind: 'retry_tax_share_above', share: 0.2 });
    expect(evaluateStopLoss(retry, sums({ outcomes: 1, cost: 8n, retryTax: 1n, noOutcomeCost: 2n, noOutcomeRetryTax: 1n })).tripped).toBe(false);
    expect(evaluateStopLoss(retry, sums({ outcomes: 1, cost: 8n, retryTax: 2n, noOutcomeCost: 2n, noOutcomeRetryTax: 1n })).tripped).toBe(true);
    const idle = rule({ kind: 'no_outcome_share_above', share: 0.25 });
    expect(evaluateStopLoss(idle, sums({ outcomes: 1, cost: 3n, noOutcomeCost: 1n })).tripped).toBe(false);
    expect(evaluateStopLoss(idle, sums({ outcomes: 1, cost: 2n, noOutcomeCost: 1n })).tripped).toBe(true);
    expect(evaluateStopLoss(idle, sums({})).tripped).toBe(false);
  });

  it('token cost above the baseline cost (factor 1 unless set)', () => {
    const r = rule({ kind: 'token_cost_above_baseline' });
    expect(evaluateStopLoss(r, sums({ outcomes: 2, baselineOutcomes: 2, baseline: 10n, baselineTokenCost: 10n })).tripped).toBe(false);
    expect(evaluateStopLoss(r, sums({ outcomes: 2, baselineOutcomes: 2, baseline: 10n, baselineTokenCost: 11n })).tripped).toBe(true);
    expect(evaluateStopLoss({ ...r, factor: 0.5 }, sums({ outcomes: 2, baselineOutcomes: 2, baseline: 10n, baselineTokenCost: 6n })).tripped).toBe(true);
  });

  it('aligns the alert window to the rule length, while the evaluation window trails', () => {
    const now = Date.UTC(2026, 10, 22, 16);
    const w = stopLossWindow({ window_days: 7 }, now);
    expect(w.to - w.from).toBe(7 * DAY_MS);
    expect(w.bucketStart % (7 * DAY_MS)).toBe(0);
    expect(w.bucketStart).toBeLessThanOrEqual(now);
    expect(w.bucketEnd).toBeGreaterThan(now);
  });
});

describe('alert decisions', () => {
  const r = rule({ kind: 'acceptance_rate_below', floor: 0.5, version: 9 });
  const now = Date.UTC(2026, 10, 22);
  const window = stopLossWindow(r, now);
  const low = stopLossCondition('accept', r, window, evaluateStopLoss(r, sums({ outcomes: 4, accepted: 1 })));
  const fine = stopLossCondition('accept', r, window, evaluateStopLoss(r, sums({ outcomes: 4, accepted: 4 })));

  it('trips once, clears once, with deterministic ids', () => {
    const [trip] = decideAlerts('t1', [low], new Map(), new Set(), now);
    expect(trip).toMatchObject({ transition: 'trip', rule_id: 'accept', rule_version: 9, window_start: window.bucketStart });
    expect(trip!.alert_id).toBe(alertId({ tenantId: 't1', ruleId: 'accept', ruleVersion: 9, windowStart: window.bucketStart, transition: 'trip' }));
    expect(decideAlerts('t1', [low], new Map(), new Set(), now + 1)[0]!.alert_id).toBe(trip!.alert_id);
    // Still tripped after the trip: nothing. Cleared: one clear.
    expect(decideAlerts('t1', [low], new Map([['accept', 'trip']]), new Set(), now)).toEqual([]);
    expect(decideAlerts('t1', [fine], new Map([['accept', 'trip']]), new Set(), now).map((a) => a.transition)).toEqual(['clear']);
    expect(decideAlerts('t1', [fine], new Map(), new Set(), now)).toEqual([]);
  });

  it('sends at most one trip per rule and window: a trip already sent is not decided again', () => {
    const [trip] = decideAlerts('t1', [low], new Map(), new Set(), now);
    expect(decideAlerts('t1', [low], new Map([['accept', 'clear']]), new Set([trip!.alert_id]), now)).toEqual([]);
    // The next window is a new one.
    const next = stopLossCondition('accept', r, stopLossWindow(r, window.bucketEnd), evaluateStopLoss(r, sums({ outcomes: 4, accepted: 1 })));
    expect(decideAlerts('t1', [next], new Map([['accept', 'clear']]), new Set([trip!.alert_id]), now)).toHaveLength(1);
  });

  it('turns budgets into forecast and exceeded conditions over the period', () => {
    const b = budget();
    const status = budgetStatus('search-monthly', b, { burnNano: 300n * NANO, reservedNano: 0n }, Date.UTC(2026, 10, 20));
    const conditions = budgetConditions(b, status);
    expect(conditions.map((c) => [c.ruleId, c.tripped, c.windowStart])).toEqual([
      ['budget:search-monthly:forecast', true, Date.UTC(2026, 10, 1)],
      ['budget:search-monthly:exceeded', true, Date.UTC(2026, 10, 1)],
    ]);
  });
});

describe('webhooks', () => {
  it('signs timestamp and body with HMAC-SHA256 and verifies in constant time', () => {
    const header = signBody('a-very-secret-key', 1_700_000_000, '{"a":1}');
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('a-very-secret-key', 1_700_000_000, '{"a":1}', header)).toBe(true);
    expect(verifySignature('a-very-secret-key', 1_700_000_001, '{"a":1}', header)).toBe(false);
    expect(verifySignature('another-secret-key', 1_700_000_000, '{"a":1}', header)).toBe(false);
    expect(verifySignature('a-very-secret-key', 1_700_000_000, '{"a":2}', header)).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(retryDelayMs(1, 100, 10_000, () => 0)).toBe(50);
    expect(retryDelayMs(3, 100, 10_000, () => 0.999999)).toBeLessThanOrEqual(400);
    expect(retryDelayMs(3, 100, 10_000, () => 0)).toBe(200);
    expect(retryDelayMs(40, 100, 10_000, () => 0.5)).toBe(7_500);
  });

  it('filters by transition and rule', () => {
    const hook = { url: 'http://x', secret: '0123456789abcdef', version: 1 };
    expect(webhookWants(hook, { transition: 'clear', rule_id: 'r' })).toBe(true);
    expect(webhookWants({ ...hook, events: ['trip'] }, { transition: 'clear', rule_id: 'r' })).toBe(false);
    expect(webhookWants({ ...hook, rules: ['q'] }, { transition: 'trip', rule_id: 'r' })).toBe(false);
  });
});

describe('keyed mutex', () => {
  it('runs one key in order and never two of its tasks at once', async () => {
    const lock = new KeyedMutex();
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => lock.run('k', async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 1));
      order.push(i);
      inside--;
    })));
    expect(most).toBe(1);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    await expect(lock.run('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await lock.run('k', async () => 1)).toBe(1);
  });
});
