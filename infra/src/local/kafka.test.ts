import { describe, expect, it } from 'vitest';
import { clusterId } from './kafka.js';

describe('clusterId', () => {
  it('is 22 base64url characters and never starts with a dash (the storage tool would read a flag)', () => {
    // About 1 id in 64 would start with '-' without the reroll: 5,000 draws miss it with odds ~1e-34.
    for (let i = 0; i < 5_000; i++) {
      const id = clusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
