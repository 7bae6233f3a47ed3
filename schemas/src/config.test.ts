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
