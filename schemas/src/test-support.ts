/** Helpers for the contract tests. */
import type { Envelope } from './fields.js';
import type { FieldError, ValidationResult } from './validation.js';

export const envelope: Envelope = { tenantId: 'acme', receivedAt: Date.UTC(2025, 0, 31, 10) };

export function expectValid<T>(result: ValidationResult<T>): T {
  if (!result.ok) throw new Error(`expected a valid payload, got ${JSON.stringify(result.errors)}`);
  return result.event;
}

export function expectErrors<T>(result: ValidationResult<T>): FieldError[] {
  if (result.ok) throw new Error(`expected validation errors, got ${JSON.stringify(result.event)}`);
  return result.errors;
}
