import { describe, expect, it } from 'vitest';
import { alertId, alertEventSchema, type AlertEvent } from './alert.js';
import { alertEventAvro, alertEventAvroType } from './avro.js';

describe('alert events', () => {
  const event: AlertEvent = {
    alert_id: alertId({ tenantId: 't1', ruleId: 'cpa', ruleVersion: 7, windowStart: 1_000, transition: 'trip' }),
    tenant_id: 't1', rule_id: 'cpa', rule_kind: 'cost_per_accepted_outcome_above', rule_version: 7, transition: 'trip',
    window_start: 1_000, window_end: 2_000, observed: '1.5', threshold: '1', message: 'cost per accepted outcome 1.5 > 1', created_at: 1_500,
  };

  it('agree with their Avro schema field for field, and round-trip', () => {
    expect(Object.keys(alertEventSchema.shape).sort()).toEqual(alertEventAvro.fields.map((f) => f.name).sort());
    expect(alertEventAvroType.isValid(event)).toBe(true);
    expect(alertEventAvroType.fromBuffer(alertEventAvroType.toBuffer(event))).toEqual(event);
    expect(alertEventSchema.parse(event)).toEqual(event);
  });

  it('derive the same id from the same rule, version, window and transition, and a new one when any changes', () => {
    const base = { tenantId: 't1', ruleId: 'cpa', ruleVersion: 7, windowStart: 1_000, transition: 'trip' as const };
    expect(alertId(base)).toBe(alertId({ ...base }));
    const variants = [
      { ...base, tenantId: 't2' }, { ...base, ruleId: 'cpb' }, { ...base, ruleVersion: 8 }, { ...base, windowStart: 2_000 }, { ...base, transition: 'clear' as const },
    ];
    expect(new Set([alertId(base), ...variants.map(alertId)]).size).toBe(6);
  });
});
