import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clickHouseTime, connectClickHouse, insertEncoded } from './clickhouse.js';

describe('clickHouseTime', () => {
  it('is the ISO UTC time with a space and no zone, for any millisecond 1970–2100', () => {
    expect(clickHouseTime(Date.UTC(2026, 10, 22, 15, 4, 5, 6))).toBe('2026-11-22 15:04:05.006');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }), (ms) => {
        expect(clickHouseTime(ms)).toBe(new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
      }),
      { numRuns: 2_000 },
    );
  });
});

// Opens embedded chDB (one data directory per process: vitest runs each test file in its own).
describe('connectClickHouse on embedded chDB', () => {
  it('inserts and reads back exact values: Decimal and UInt64 as strings, DateTime64 to the millisecond, Map, Nested arrays, NULL', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokenledger-chdb-'));
    const client = await connectClickHouse({ user: 'default', password: '', database: 'exact_test', chdbPath: dir });
    try {
      await client.command({
        query: `CREATE TABLE exact (id UInt64, at DateTime64(3, 'UTC'), cost Decimal(38, 9), reported Nullable(Decimal(38, 9)),
                  tags Map(String, String), \`alloc.project\` Array(LowCardinality(String)), \`alloc.cost\` Array(Decimal(38, 9)))
                ENGINE = MergeTree ORDER BY id`,
      });
      const columns = ['id', 'at', 'cost', 'reported', 'tags', 'alloc.project', 'alloc.cost'];
      const rows = [
        ['18446744073709551615', clickHouseTime(Date.UTC(2026, 10, 22, 15, 4, 5, 6)), '99999999999999999999999999999.999999999', null,
          { 'k\t"\'\\': 'v\n' }, ['payments', 'web'], ['0.000000001', '-1.500000000']],
        [1, clickHouseTime(0), '-0.000000001', '0.100000000', {}, [], []],
      ];
      await insertEncoded(client, 'exact', columns, 'JSONCompactEachRow', rows.map((row) => JSON.stringify(row)));
      const back = await (await client.query({ query: 'SELECT * FROM exact ORDER BY id', format: 'JSONCompactEachRow' })).json();
      // Decimals come back without trailing zeros: the same numbers.
      expect(back).toEqual([
        ['1', '1970-01-01 00:00:00.000', '-0.000000001', '0.1', {}, [], []],
        ['18446744073709551615', '2026-11-22 15:04:05.006', '99999999999999999999999999999.999999999', null,
          { 'k\t"\'\\': 'v\n' }, ['payments', 'web'], ['0.000000001', '-1.5']],
      ]);
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
