import { describe, expect, it } from 'vitest';
import { configEventAvro, configEventAvroType } from './avro.js';
import { applyConfigEvent, configChange, configEventKey, configEventSchema, emptyTenantConfig, validateConfigBody } from './config.js';

describe('config events', () => {
  it('agree with their Avro schema field for field, and round-trip', () => {
    const zodFields = Object.keys(configEventSchema.shape).sort();
    const avroFields = configEventAvro.fields.map((f) => f.name).sort();
    expect(zodFields).toEqual(avroFields);
    const event = configChange({ tenantId: 't1', kind: 'ticket_prefix', itemId: 'PAY', body: { project: 'payments' }, publishedBy: 'cli:test' });
    expect(configEventAvroType.isValid(event)).toBe(true);
    expect(configEventAvroType.fromBuffer(configEventAvroType.toBuffer(event))).toEqual(event);
  });

  it('keys every change uniquely so compaction keeps the history', () => {
    const a = configChange({ tenantId: 't1', kind: 'project', itemId: 'p', body: { class: 'opex' }, publishedBy: 'cli' });
    const b = configChange({ tenantId: 't1', kind: 'project', itemId: 'p', body: { class: 'opex' }, publishedBy: 'cli' });
    expect(configEventKey(a)).not.toBe(configEventKey(b));
  });

  it('folds changes in order: later wins, null removes, versions are offsets + 1 by kind', () => {
    const config = emptyTenantConfig('t1');
    const change = (kind: Parameters<typeof configChange>[0]['kind'], itemId: string, body: unknown) =>
      configChange({ tenantId: 't1', kind, itemId, body, publishedBy: 'cli' });
    expect(applyConfigEvent(config, change('ticket_prefix', 'PAY', { project: 'payments' }), 0)).toEqual({ ok: true });
    expect(applyConfigEvent(config, change('price_override', 'gpt', { provider: 'openai', model: 'gpt-4o', effective_from: 0, input: '1', output: '2' }), 1)).toEqual({ ok: true });
    expect(applyConfigEvent(config, change('ticket_prefix', 'PAY', { project: 'billing' }), 2)).toEqual({ ok: true });
    expect(config.ticketPrefixes.get('PAY')).toEqual({ project: 'billing' });
    expect(config.priceOverrides.get('gpt')).toMatchObject({ id: 'gpt', tenant_id: 't1', version: 2, input: '1' });
    expect(config.rulesVersion).toBe(3);
    expect(config.pricesVersion).toBe(2);
    expect(applyConfigEvent(config, change('ticket_prefix', 'PAY', null), 3)).toEqual({ ok: true });
    expect(config.ticketPrefixes.has('PAY')).toBe(false);
    expect(config.rulesVersion).toBe(4);
  });

  it('refuses an invalid body, naming the field, and changes nothing', () => {
    const config = emptyTenantConfig('t1');
    const bad = configChange({ tenantId: 't1', kind: 'directory_user', itemId: 'u1', body: { teem: 'x' }, publishedBy: 'cli' });
    const result = applyConfigEvent(config, bad, 0);
    expect(result.ok).toBe(false);
    expect(config.users.size).toBe(0);
    expect(config.rulesVersion).toBe(0);
    const checked = validateConfigBody('price_override', 't1', 'o1', { provider: 'openai', model: 'x', effective_from: 0, input: 'cheap', output: '1' });
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.errors.map((e) => e.path)).toContain('input');
  });
});

describe('governance config', () => {
  it('folds budgets, stop-loss rules and webhooks with their versions, without moving rules_version', () => {
    const config = emptyTenantConfig('t1');
    const change = (kind: Parameters<typeof configChange>[0]['kind'], itemId: string, body: unknown) =>
      configChange({ tenantId: 't1', kind, itemId, body, publishedBy: 'cli' });
    expect(applyConfigEvent(config, change('budget', 'search-m', { scope: 'project', key: 'search', period: 'month', amount_usd: '100', value_owner: 'ana', version: 99 }), 4)).toEqual({ ok: true });
    expect(applyConfigEvent(config, change('stop_loss_rule', 'cpa', { kind: 'cost_per_accepted_outcome_above', limit_usd: '2', window_days: 7 }), 5)).toEqual({ ok: true });
    expect(applyConfigEvent(config, change('webhook', 'ops', { url: 'https://hooks.example/x', secret: '0123456789abcdef' }), 6)).toEqual({ ok: true });
    expect(config.budgets.get('search-m')).toMatchObject({ amount_usd: '100', version: 5 });
    expect(config.stopLossRules.get('cpa')).toMatchObject({ scope: {}, min_outcomes: 1, version: 6 });
    expect(config.webhooks.get('ops')?.version).toBe(7);
    expect(config.governanceVersion).toBe(7);
    expect(config.rulesVersion).toBe(0);
  });

  it('refuses a stop-loss rule without its threshold and a budget with a bad amount', () => {
    const rule = validateConfigBody('stop_loss_rule', 't1', 'r', { kind: 'acceptance_rate_below', window_days: 7 });
    expect(rule.ok).toBe(false);
    if (!rule.ok) expect(rule.errors.map((e) => e.path)).toContain('floor');
    const budget = validateConfigBody('budget', 't1', 'b', { scope: 'project', key: 'x', period: 'month', amount_usd: 'lots', value_owner: 'ana' });
    expect(budget.ok).toBe(false);
  });
});
