import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type JsonValue } from './event-id.js';

/** The first canonicalJson, kept as the definition: derived ids already issued depend on its output. */
function reference(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const members = Object.keys(value)
    .sort()
    .flatMap((key) => {
      const member = value[key];
      return member === null || member === undefined ? [] : [`${JSON.stringify(key)}:${reference(member)}`];
    });
  return `{${members.join(',')}}`;
}

describe('canonicalJson', () => {
  it('gives the same text as its first definition for any JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void expect(canonicalJson(value as JsonValue)).toBe(reference(value as JsonValue))), { numRuns: 5_000 });
  });

  it('gives the same text for objects of many keys, integer-like and "__proto__" keys included', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '2', '01', '4294967295', '__proto__', 'a', 'b'));
    const objects = fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { minKeys: 8, maxKeys: 30 });
    fc.assert(fc.property(objects, (value) => void expect(canonicalJson(value as JsonValue)).toBe(reference(value as JsonValue))), { numRuns: 3_000 });
  });

  it('sorts keys, drops null members and keeps nulls in arrays', () => {
    expect(canonicalJson({ b: 1, a: [null, { d: null, c: '"' }], e: null, '10': 1, '9': 2 })).toBe('{"10":1,"9":2,"a":[null,{"c":"\\""}],"b":1}');
  });
});
