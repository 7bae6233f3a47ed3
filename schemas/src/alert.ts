/**
 * Governance alerts: a budget or stop-loss rule tripped or cleared. The Avro contract is
 * schemas/avro/alert-event.avsc (the agreement test holds both to the same fields). The id is
 * derived, never random: the same rule, version, window and transition always give the same id,
 * so a restart or a replay that decides the same alert again is recognised as a duplicate.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const alertTransitions = ['trip', 'clear'] as const;
export type AlertTransition = (typeof alertTransitions)[number];

export const alertEventSchema = z.object({
  alert_id: z.string().min(1),
  tenant_id: z.string().min(1),
  rule_id: z.string().min(1),
  rule_kind: z.string().min(1),
  rule_version: z.number().int(),
  transition: z.enum(alertTransitions),
  window_start: z.number().int(),
  window_end: z.number().int(),
  observed: z.string().nullable(),
  threshold: z.string().nullable(),
  message: z.string(),
  created_at: z.number().int(),
});
export type AlertEvent = z.infer<typeof alertEventSchema>;

/** sha256 over the fields that make an alert unique, NUL-separated (no field can contain NUL ambiguity). */
export function alertId(p: { tenantId: string; ruleId: string; ruleVersion: number; windowStart: number; transition: AlertTransition }): string {
  return createHash('sha256').update([p.tenantId, p.ruleId, String(p.ruleVersion), String(p.windowStart), p.transition].join('\u0000')).digest('hex');
}
