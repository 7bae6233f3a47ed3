/**
 * Webhook signing and retry timing, pure.
 * - Body: the alert event as JSON, sent as is (the signature is over these exact bytes).
 * - Headers: `x-tokenledger-timestamp: <unix seconds>`, `x-tokenledger-alert-id: <id>` and
 *   `x-tokenledger-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. Signing the
 *   timestamp with the body lets a receiver refuse old replays (check it is recent).
 * - Retries: until the receiver answers 2xx, after base × 2^(attempt − 1), capped, times a jitter
 *   factor in [0.5, 1) so many failed deliveries do not retry in step.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertEvent, Webhook } from '@tokenledger/schemas';

export const SIGNATURE_HEADER = 'x-tokenledger-signature';
export const TIMESTAMP_HEADER = 'x-tokenledger-timestamp';
export const ALERT_ID_HEADER = 'x-tokenledger-alert-id';

export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Constant-time check of a signature header against the body and timestamp. */
export function verifySignature(secret: string, timestamp: number, body: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, timestamp, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Delay before the next attempt after `attempts` failed ones (≥ 1). */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(exponential * (0.5 + random() / 2));
}

/** Whether a webhook wants an alert: its transition and rule filters. */
export function webhookWants(webhook: Webhook, alert: Pick<AlertEvent, 'transition' | 'rule_id'>): boolean {
  return (!webhook.events || webhook.events.includes(alert.transition)) && (!webhook.rules || webhook.rules.includes(alert.rule_id));
}
