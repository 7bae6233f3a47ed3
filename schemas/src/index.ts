export * from './topics.js';
export * from './decimal.js';
export { canonicalJson, deriveEventId, DERIVED_EVENT_ID_PREFIX, type JsonValue } from './event-id.js';
export type { Envelope } from './fields.js';
export type { FieldError, ValidationResult } from './validation.js';
export * from './usage.js';
export * from './outcome.js';
export * from './avro.js';
export * from './config-bodies.js';
